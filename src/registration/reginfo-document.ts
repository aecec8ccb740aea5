/**
 * The typed result of parsing one `Event: reg` NOTIFY body (RFC 3680, `application/reginfo+xml`).
 *
 * - `empty`: the NOTIFY had no body. RFC 3680 §5.1 wants a full document in every NOTIFY, but a presence
 *   server relaying a registrar's publications (Kamailio `presence_reginfo`) sends an empty body while
 *   nothing has been published for the AOR, i.e. the registrar has not seen it register.
 * - `document`: a well-formed reginfo document.
 */

/** `<registration state>` (RFC 3680 §5.3): `init` = no contact has ever been bound. */
export type RegistrationStateValue = 'init' | 'active' | 'terminated';

/** `<contact state>` (RFC 3680 §5.3). */
export type ContactStateValue = 'active' | 'terminated';

/** `<contact event>` (RFC 3680 §5.3): what last happened to the contact. */
export const CONTACT_EVENTS = [
  'registered',
  'created',
  'refreshed',
  'shortened',
  'expired',
  'deactivated',
  'probation',
  'unregistered',
  'rejected',
] as const;
export type ContactEvent = (typeof CONTACT_EVENTS)[number];

/** One `<contact>`: a binding of the AOR (RFC 3680 §5.3). */
export interface RegContact {
  id: string;
  state: ContactStateValue;
  /** Absent (with a warning) when missing or not one of {@link CONTACT_EVENTS}. */
  event?: ContactEvent;
  /** Seconds left when the document was built (`expires` attribute), when given. */
  expires?: number;
  /** `q` preference 0..1, when given. */
  q?: number;
  uri: string;
  displayName?: string;
  /**
   * The Contact header's parameters as `<unknown-param name="…">value</unknown-param>` (RFC 3680 §5.3):
   * feature tags (RFC 3840: `+g.oma.pusheventapp`, `+g.3gpp.smsip`, `+sip.instance`…). Names lower-cased,
   * values with surrounding double quotes removed, `''` for a tag without a value.
   */
  params: Record<string, string>;
}

/** One `<registration>` of an AOR (RFC 3680 §5.3). */
export interface Registration {
  aor: string;
  id: string;
  state: RegistrationStateValue;
  contacts: RegContact[];
}

export interface ReginfoDocument {
  kind: 'document';
  /** `reginfo/@version`: increments by one per NOTIFY of one subscription (RFC 3680 §5.2). */
  version: number;
  /** `full`: the whole state; `partial`: only what changed (RFC 3680 §5.2). */
  state: 'full' | 'partial';
  registrations: Registration[];
  /** Tolerated oddities (unknown contact events, …), for logs and the admin view. */
  warnings: string[];
  receivedAt: number;
}

export interface EmptyReginfo {
  kind: 'empty';
  receivedAt: number;
}

export type ReginfoSnapshot = ReginfoDocument | EmptyReginfo;

/** The reginfo XML namespace (RFC 3680 §5.4). */
export const REGINFO_NS = 'urn:ietf:params:xml:ns:reginfo';

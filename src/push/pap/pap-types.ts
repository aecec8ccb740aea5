/**
 * Typed PAP requests, as {@link parsePapRequest} produces them from untrusted input (WAP-164 PAP 1.0 §9,
 * WAP-247 PAP 2.0 §9; docs/standards.md §2.2–§2.3). Everything past the parser trusts these types.
 */

/** PAP versions this agent reads. 2.2/2.3 are the OMA revisions of the 2.x line. */
export const SUPPORTED_PAP_VERSIONS = ['1.0', '2.0', '2.1', '2.2', '2.3'] as const;
export type PapVersion = (typeof SUPPORTED_PAP_VERSIONS)[number];

export type PapPriority = 'high' | 'medium' | 'low';
export type PapDeliveryMethod = 'confirmed' | 'preferconfirmed' | 'unconfirmed' | 'notspecified';

/** `<quality-of-service>` (PAP 2.0 §9.2.3). Absent attributes stay absent; `*-required` default false. */
export interface PapQualityOfService {
  priority?: PapPriority;
  deliveryMethod?: PapDeliveryMethod;
  bearer?: string;
  bearerRequired: boolean;
  network?: string;
  networkRequired: boolean;
}

/** The content entity (PAP §8: the second part of the multipart/related body). */
export interface PushContent {
  /** The part's Content-Type value as sent (parameters kept). */
  contentType: string;
  /** All part headers, lower-case names (`x-wap-application-id`, `content-location`, …). */
  headers: Record<string, string>;
  /** The content bytes exactly as received (WBXML SI/SL is binary). */
  body: Buffer;
}

/** A `push-message` with its content entity. */
export interface PushSubmission {
  pushId: string;
  papVersion: PapVersion;
  /** `address-value`s as sent (at least one); see `parsePapAddress`. */
  addresses: string[];
  qos: PapQualityOfService;
  deliverBefore?: Date;
  deliverAfter?: Date;
  /** `ppg-notify-requested-to`: where result notifications go (http/https URL). */
  notifyTo?: string;
  progressNotesRequested: boolean;
  sourceReference?: string;
  senderAddress?: string;
  senderName?: string;
  /** `replace-push-id` (PAP 2.0): the push this one replaces; the agent may answer 3011. */
  replacePushId?: string;
  replaceMethod?: 'pending-only' | 'all';
  content: PushContent;
  /** Optional third part: the capabilities entity (RDF/UAProf), bytes as received. */
  capabilities?: Buffer;
}

/** What the PPG asked for. `addresses` on cancel/statusquery narrows the request to those clients. */
export type PapRequest =
  | { kind: 'push'; push: PushSubmission }
  | { kind: 'cancel'; pushId: string; papVersion: PapVersion; addresses?: string[] }
  | { kind: 'statusquery'; pushId: string; papVersion: PapVersion; addresses?: string[] };

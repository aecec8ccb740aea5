/**
 * The typed result of parsing one presence NOTIFY body (RFC 3863 PIDF with RFC 4479/4480, RFC 5196 caps
 * and the OMA Presence SIMPLE extensions; docs/standards.md §4.2).
 *
 * Two kinds, on purpose:
 * - `empty`: the NOTIFY had no body (or only whitespace). RFC 6665 and Kamailio use this for "nothing is
 *   published now" (initial NOTIFY, publication expired, body-less PUBLISH refresh — docs/interop.md). It is
 *   *not* an error and *not* a closed document; the capability table decides what it means.
 * - `document`: a well-formed PIDF document, with everything the reachability policy reads.
 */

import type { Reachability, ReachabilityRule } from './reachability-oracle.js';

/** PIDF `<basic>` (RFC 3863 §4.1.4) and OMA `<op:basic>` in willingness elements. */
export type BasicStatus = 'open' | 'closed';

/** OMA `registration-state` / `barring-state` / `network` states (docs/standards.md §4.2). */
export type ActiveTerminated = 'active' | 'terminated';

/** `<op:service-description>` (OMA Presence SIMPLE 1.1 §10.5.1). */
export interface ServiceDescription {
  serviceId: string;
  version?: string;
  description?: string;
}

/** A `<caps:supported>` / `<caps:notsupported>` pair (RFC 5196 §3), element local names as written. */
export interface SupportedSet {
  supported: string[];
  notsupported: string[];
}

/** `<caps:servcaps>` in a tuple (RFC 5196 §3.2). */
export interface ServiceCaps {
  /** SIP methods, upper case (`MESSAGE`, `INVITE`, ...). */
  methods: SupportedSet;
  /** Event packages, as written (`presence`, `reg`, ...). */
  eventPackages: SupportedSet;
  /** Boolean media elements (`message`, `text`, `audio`, `application`, ...), `true`/`false`. */
  media: Record<string, boolean>;
}

/** A PIDF `<tuple>`: one service of the presentity (RFC 4479 §3.1). */
export interface PresenceTuple {
  id: string;
  basic?: BasicStatus;
  contact?: string;
  /** `contact/@priority`, 0..1 (RFC 3863 §4.1.5). */
  priority?: number;
  /** xs:dateTime as written. */
  timestamp?: string;
  service?: ServiceDescription;
  willingness?: BasicStatus;
  sessionParticipation?: BasicStatus;
  registrationState?: ActiveTerminated;
  barringState?: ActiveTerminated;
  caps?: ServiceCaps;
  /** `<pdm:deviceID>` linking the service to a device (RFC 4479 §3.4). */
  deviceId?: string;
  /**
   * Push application ids the service advertises (local convention, no standard exists —
   * docs/standards.md §4.3): text of any element named `pusheventapp` inside the tuple, in any namespace, comma/space
   * separated; e.g. `<x:pusheventapp>wml.ua,mms.ua</x:pusheventapp>` inside `op:service-description`.
   */
  pushApps: string[];
  notes: string[];
}

/** A `<pdm:person>` (RFC 4479 §3.2). */
export interface PresencePerson {
  id: string;
  /** `<op:overriding-willingness>` (docs/standards.md §4.2). */
  overridingWillingness?: BasicStatus;
  /** RPID activities, element local names (`away`, `busy`, `on-the-phone`, ...; RFC 4480 §6.1). */
  activities: string[];
  notes: string[];
}

/** `<op:network id="IMS"><op:active/></op:network>` in a device. */
export interface NetworkAvailability {
  id: string;
  state: ActiveTerminated;
}

/** A `<pdm:device>` (RFC 4479 §3.3). */
export interface PresenceDevice {
  id: string;
  deviceId?: string;
  networks: NetworkAvailability[];
  /** `<caps:devcaps><caps:mobility>` supported values (`fixed`, `mobile`). */
  mobility: string[];
  notes: string[];
}

export interface EmptyPresence {
  kind: 'empty';
  /** When the NOTIFY was received (ms since epoch). */
  receivedAt: number;
}

export interface PresenceDocument {
  kind: 'document';
  /** `presence/@entity`, the presentity URI. */
  entity: string;
  tuples: PresenceTuple[];
  persons: PresencePerson[];
  devices: PresenceDevice[];
  /** Top-level `<note>`s. */
  notes: string[];
  /** Tolerated oddities (unknown `<basic>` values, tuples without id, ...), for logs and the admin view. */
  warnings: string[];
  receivedAt: number;
  /** Digest of the normalised document (presence-digest.ts): equal for a re-sent document, different for a changed one. */
  digest?: string;
  /** The newest tuple `<timestamp>` (RFC 3863 §4.1.7), ms since the epoch, when one parses. */
  newestTimestamp?: number;
}

/** What the capability table keeps of a document (built by presence-summary.ts). */
export interface PresenceSummary {
  kind: 'summary';
  receivedAt: number;
  reachability: Reachability;
  rule: ReachabilityRule;
  reason: string;
  acceptedApps: readonly string[] | 'any';
  /** The non-SIP bearer the document supports (bearer-hint.ts), when it names one. */
  bearerHint?: string;
  digest?: string;
  newestTimestamp?: number;
  /** `presence/@entity`; undefined when it is the AOR the entry is kept under (the usual case). */
  entity?: string;
  tuples: number;
  warnings: readonly string[];
}

/** What `parsePresence` returns. */
export type PresenceSnapshot = EmptyPresence | PresenceDocument;

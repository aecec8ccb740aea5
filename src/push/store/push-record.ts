import type { PushState } from './push-state.js';

/** Where a push came in: PAP multipart/related (the PPG) or the agent's JSON convenience API. */
export type PushSource = 'pap' | 'json';

/** What intake hands to {@link PushStore.insert}; the store adds state and timestamps. */
export interface NewPushRecord {
  /** PAP `push-id` (unique per PPG, PAP 2007 on reuse). */
  pushId: string;
  /** PAP client address as received, e.g. `WAPPUSH=+155512345/TYPE=PLMN@ppg.example.com`. */
  address: string;
  /** The SIP AOR the sip-profile mapped the address to, when already known. */
  aor?: string;
  /** Content-Type of the original request (with its multipart boundary). */
  requestContentType: string;
  /** The original PAP request bytes, kept byte-exact so a resume or a hand-back re-parses them as sent. */
  requestBody: Buffer;
  /** PAP `deliver-after-timestamp`, ms since the epoch. */
  deliverAfter?: number;
  /** PAP `deliver-before-timestamp`, ms since the epoch. */
  deliverBefore?: number;
  /** PAP `ppg-notify-requested-to`: where the result notification goes. */
  notifyTo?: string;
  source?: PushSource;
  /** The PI that submitted it (intake user name, or `anonymous` on an open intake). */
  submittedBy?: string;
  /** The MESSAGE's Call-ID, From tag and CSeq, fixed at intake (see {@link PushRecord.messageIdentity}). */
  messageIdentity?: MessageIdentity;
}

/** The identity every copy of this push's MESSAGE carries (RFC 3261 §8.1.1.3–5). */
export interface MessageIdentity {
  callId: string;
  fromTag: string;
  cseq: number;
}

/** What a state change may record; the latest values are also kept on the record itself. */
export interface TransitionDetail {
  /** Why, in words an operator can act on (`sip 480`, `not reachable`, `deliver-before passed`). */
  reason?: string;
  /** The bearer suggested to the PPG on hand-back (e.g. `SMS`). */
  bearerHint?: string;
  /** The SIP final response status that decided the outcome. */
  sipStatus?: number;
  /** The PAP code the PPG answered when its answer decided the outcome (a refused hand-back). */
  papCode?: number;
  /** Free text for the history only. */
  note?: string;
}

/** One push as stored. Timestamps are ms since the epoch, from the store's clock. */
export interface PushRecord {
  pushId: string;
  address: string;
  aor: string | undefined;
  requestContentType: string;
  requestBody: Buffer;
  deliverAfter: number | undefined;
  deliverBefore: number | undefined;
  notifyTo: string | undefined;
  source: PushSource;
  /** The submitting PI; undefined for pushes stored before PIs were recorded (readable by any PI). */
  submittedBy: string | undefined;
  state: PushState;
  /** Latest {@link TransitionDetail.reason} recorded. */
  reason: string | undefined;
  bearerHint: string | undefined;
  sipStatus: number | undefined;
  /** Latest {@link TransitionDetail.papCode} recorded. */
  papCode: number | undefined;
  /** Call-ID, From tag and CSeq of the MESSAGE; the same on every copy, also after a restart. */
  messageIdentity: MessageIdentity | undefined;
  /** MESSAGE sends that may have left (incremented by each `→ delivering`); above 1 = re-sent. */
  sipAttempts: number;
  createdAt: number;
  updatedAt: number;
}

/**
 * A stored push without its request body: what a state change returns and what an outbox settlement
 * decides from. The body is read only where it is needed (a resume, a status read), never on the hot path.
 */
export type PushSummary = Omit<PushRecord, 'requestBody'>;

/** One row of a push's audit trail; `from` is undefined for the insert. */
export interface PushHistoryEntry {
  from: PushState | undefined;
  to: PushState;
  at: number;
  detail: TransitionDetail;
}

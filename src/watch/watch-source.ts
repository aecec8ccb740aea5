/**
 * A capability source the watcher keeps subscriptions for: which event package, how to turn its NOTIFYs
 * into evidence for the capability layer. Two exist: presence (src/presence/presence-source.ts, RFC 3856
 * PIDF) and the registration state (src/registration/reg-source.ts, RFC 3680). This floor sits between
 * capabilities/ and the two watchers so that neither imports the other. The watcher's lifecycle — on-demand SUBSCRIBE, waiting for
 * the first NOTIFY, refresh, resubscribe with backoff, `Expires: 0` on eviction — is the same for both.
 */
import type { EvidenceSink } from '../capabilities/evidence-ports.js';
import type { NotifyEvent } from '../sip/port.js';

export interface WatchSource {
  readonly name: 'presence' | 'reg';
  /** False: the watcher never subscribes, decisions come from the table alone. */
  readonly enabled: boolean;
  readonly event: string;
  readonly accept: string[];
  readonly expiresSeconds: number;
  /** How long a push for a user this source knows nothing about waits for the first NOTIFY. */
  readonly firstNotifyWaitMs: number;
  /** Whether the capability layer holds enough from this source that no NOTIFY need be awaited. */
  isFresh(evidence: EvidenceSink, aor: string): boolean;
  /** A new subscription dialog is being created for `aor` (per-dialog state starts over). */
  dialogStarted(aor: string): void;
  /**
   * Applies one NOTIFY as evidence. Returns `refresh` when the notifier must send the full state again
   * (the watcher refreshes the subscription). Throws AgentError for a body it cannot parse.
   */
  applyNotify(evidence: EvidenceSink, aor: string, event: NotifyEvent): 'ok' | 'refresh';
  /** The notifier refused or ended the subscription for good (RFC 6665 §4.1.3). */
  recordRefusal(evidence: EvidenceSink, aor: string, kind: 'rejected' | 'noresource'): void;
  /** The watcher stopped watching `aor`. */
  forget(aor: string): void;
}

/**
 * The two small interfaces between the capability layer and the watchers above it (presence/,
 * registration/), so that evidence flows one way: watchers write INTO capabilities through
 * {@link EvidenceSink}; capabilities asks for watching through {@link WatchTrigger}, which the watchers
 * implement. Neither side imports the other's classes.
 */
import type { EvictionReason } from './capability-store.js';
import type { PresenceSnapshot } from './presence-snapshot.js';
import type { RegistrationEvidence } from './registration-evidence.js';

/** Where a watcher puts what a NOTIFY (or a refusal) said. The capability table implements it. */
export interface EvidenceSink {
  /** A presence NOTIFY was parsed (RFC 3856): a document, or an empty body (nothing published). */
  recordPresence(aor: string, snapshot: PresenceSnapshot): void;
  /** The presence server refused or ended the subscription for good (RFC 6665 §4.1.3 reasons). */
  recordPresenceRefusal(aor: string, kind: 'rejected' | 'noresource'): void;
  /** A reg NOTIFY was applied (RFC 3680): the contacts bound now. */
  recordRegistration(aor: string, evidence: RegistrationEvidence): void;
  /** Reg NOTIFYs were lost (RFC 3680 §5.2): do not use the registration state until a full one arrives. */
  recordRegistrationResync(aor: string): void;
  /** A NOTIFY body could not be parsed: counted, the last good state kept. */
  recordParseError(aor: string, err: { code?: string; message: string }): void;
  /** A user is being subscribed to: an evidence-less entry bounds the watch by the table's capacity. */
  touch(aor: string): void;
  /** True when evidence that still counts is held (`countRegistration: false`: leave the reg state out). */
  isFresh(aor: string, countRegistration?: boolean): boolean;
  /** True when registration state that counts is held (fresh, no gap being resynchronised). */
  hasFreshRegistration(aor: string): boolean;
}

/** What the capability layer asks of a watcher (presence or registration). */
export interface WatchTrigger {
  /**
   * Makes sure `aor` is watched and waits, within the source's first-NOTIFY bound, for evidence: true (a
   * NOTIFY came), false (none in time), undefined (no wait: fresh, disabled, stopping, or in backoff).
   */
  prepare(aor: string): Promise<boolean | undefined>;
  /** The user's capability entry left the table: stop watching (unsubscribe). */
  forget(aor: string, reason: EvictionReason): void;
}

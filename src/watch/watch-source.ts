/**
 * A capability source the watcher keeps subscriptions for: which event package, how to turn its NOTIFYs
 * into table evidence. Two exist: presence (here, RFC 3856 PIDF) and the registration state
 * (src/registration/reg-source.ts, RFC 3680). The watcher's lifecycle — on-demand SUBSCRIBE, waiting for
 * the first NOTIFY, refresh, resubscribe with backoff, `Expires: 0` on eviction — is the same for both.
 */
import type { CapabilityTable } from '../capabilities/capability-table.js';
import type { SipProfile } from '../profiles/schema.js';
import type { NotifyEvent } from '../sip/port.js';
import { parsePresence } from '../presence/pidf-parser.js';

export interface WatchSource {
  readonly name: 'presence' | 'reg';
  /** False: the watcher never subscribes, decisions come from the table alone. */
  readonly enabled: boolean;
  readonly event: string;
  readonly accept: string[];
  readonly expiresSeconds: number;
  /** How long a push for a user this source knows nothing about waits for the first NOTIFY. */
  readonly firstNotifyWaitMs: number;
  /** Whether the table holds enough from this source that no NOTIFY need be awaited. */
  isFresh(table: CapabilityTable, aor: string): boolean;
  /** A new subscription dialog is being created for `aor` (per-dialog state starts over). */
  dialogStarted(aor: string): void;
  /**
   * Applies one NOTIFY to the table. Returns `refresh` when the notifier must send the full state again
   * (the watcher refreshes the subscription). Throws AgentError for a body it cannot parse.
   */
  applyNotify(table: CapabilityTable, aor: string, event: NotifyEvent): 'ok' | 'refresh';
  /** The notifier refused or ended the subscription for good (RFC 6665 §4.1.3). */
  recordRefusal(table: CapabilityTable, aor: string, kind: 'rejected' | 'noresource'): void;
  /** The watcher stopped watching `aor`. */
  forget(aor: string): void;
}

/** The presence source (RFC 3856): PIDF documents into the table. */
export function presenceSource(profile: SipProfile): WatchSource {
  const p = profile.presence;
  return {
    name: 'presence',
    enabled: p.enabled && profile.sources.includes('presence'),
    event: p.event,
    accept: p.accept,
    expiresSeconds: p.expiresSeconds,
    firstNotifyWaitMs: p.firstNotifyWaitMs,
    // Any evidence but the registration state (that is the reg source's own).
    isFresh: (table, aor) => table.isFresh(aor, false),
    dialogStarted: () => undefined,
    applyNotify(table, aor, event) {
      table.recordPresence(aor, parsePresence(event.body, event.contentType));
      return 'ok';
    },
    recordRefusal: (table, aor, kind) => table.recordPresenceRefusal(aor, kind),
    forget: () => undefined,
  };
}

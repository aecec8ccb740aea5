/**
 * The options of the SQLite push store: how it is opened, and the guard and outbox rows of one transition.
 */
import type { NewOutboxItem } from '../../outbox/outbox-item.js';
import type { PushState } from '../push-state.js';
import type { SyncMode } from './schema.js';

export interface PushStoreOptions {
  /** The clock for every timestamp the store writes (ms since the epoch). Default `Date.now`. */
  now?: () => number;
  /** WAL sync mode; see {@link SyncMode}. Default FULL. */
  synchronous?: SyncMode;
  /** Group commit: most work items one transaction carries before it is flushed at once. Default 256. */
  maxBatch?: number;
  /**
   * Group commit: how long (ms) the first queued write waits for others to share its commit (one fsync).
   * Default 2; 0 commits on the next event-loop turn (shared only by writes queued in the same turn).
   */
  commitWindowMs?: number;
  /** Sees every SQL statement the connection runs (better-sqlite3 `verbose`): tests count `BEGIN`s. */
  onSql?: (sql: string) => void;
}

export interface TransitionOptions {
  /** Compare-and-set guard: refuse unless the push is in one of these states now. */
  expectedFrom?: PushState | readonly PushState[];
  /** POSTs to queue in the same transaction as the state change (hand-back, result notification). */
  outbox?: NewOutboxItem | readonly NewOutboxItem[];
}

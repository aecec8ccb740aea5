/**
 * The outbox port: what the dispatcher (outbox-dispatcher.ts, outbox-settlement.ts) asks of the durable
 * outbox, and nothing more. SQLite implements it over its own `Outbox` and group commit
 * (store/sqlite/sqlite-outbox-port.ts); PostgreSQL over the shared cluster tables, limited to the items
 * whose lease this agent holds (store/postgres/pg-outbox-port.ts). Both pass
 * test/contract/outbox-port.contract.ts.
 *
 * Every method is asynchronous because a network store must be; writes resolve once durable. Storage
 * failures reject with STORE_UNWRITABLE (errors.ts); any other rejection of `settle` comes from the
 * reaction (or the move it asked for) and rolled everything of that settlement back.
 */
import type { OutboxEnding, SettlementReaction } from '../store/push-store-port.js';
import type { OutboxItem } from './outbox-item.js';

/** What {@link OutboxPort.takeNew} hands over. */
export interface NewlyQueued {
  /** Items queued (or put back in line) by transactions that committed since the last call. */
  items: OutboxItem[];
  /** Some new items were not kept in memory (too many at once): read the table ({@link OutboxPort.pending}). */
  overflowed: boolean;
  /** Items taken out of line since the last call (an operator parked them): drop them from memory. */
  withdrawn: number[];
}

export interface OutboxPort {
  /**
   * The items committed since the last call, without reading the table for them (the store keeps them
   * in memory from the insert until its transaction commits; a rolled-back insert never shows).
   * `'busy'` while a transaction that may queue items is still open: ask again shortly.
   */
  takeNew(): Promise<NewlyQueued | 'busy'>;
  /**
   * Up to `limit` pending items this agent may send (not ended, not parked; on a shared store only those
   * whose lease it holds) that are not in `skip`, earliest due first. `complete` is true when no other
   * such item exists.
   */
  pending(limit: number, skip: ReadonlySet<number>): Promise<{ items: OutboxItem[]; complete: boolean }>;
  /** Counts a failed POST and schedules the next one at `nextAttemptAt` (ms since the epoch). */
  recordFailure(id: number, error: string, nextAttemptAt: number): Promise<void>;
  /**
   * Ends `item` and applies what `react` decides for its push, in ONE commit. False (nothing changed)
   * when the item had ended already. If `react` — or the move it returned, or that move's `after` —
   * throws, nothing of the settlement commits (the item stays pending) and the promise rejects with that
   * error, so the caller can settle the same answer again.
   */
  settle(item: OutboxItem, ending: OutboxEnding, react?: SettlementReaction): Promise<boolean>;
}

/**
 * The {@link OutboxPort} on SQLite: the store's own `Outbox` (one agent per file, so every pending item
 * is this agent's) and its group commit. New items come from the outbox's in-memory stage; a settlement
 * is one group-commit item, so a throwing reaction rolls back its savepoint — the ending with it.
 */
import type { OutboxItem } from '../../outbox/outbox-item.js';
import type { OutboxPort } from '../../outbox/outbox-port.js';
import { applySettlementReaction, guarded } from './sqlite-push-store-port.js';
import type { PushStore } from './sqlite-push-store.js';

export function sqliteOutboxPort(store: PushStore): OutboxPort {
  const { outbox } = store;
  return {
    takeNew: () =>
      guarded(() => {
        const staged = outbox.takeStaged();
        // A transaction is open: the items it staged are not committed yet.
        if (staged === undefined) return 'busy' as const;
        return { items: staged.items, overflowed: staged.overflowed, withdrawn: staged.parked };
      }),
    pending: (limit, skip) =>
      guarded(() => {
        // One item past the limit: the Outbox's own `complete` stays false when exactly `limit` remain,
        // which would cost the dispatcher one more read of the table for nothing.
        const { items, complete } = outbox.pending(limit + 1, skip);
        return { items: items.slice(0, limit), complete: complete && items.length <= limit };
      }),
    recordFailure: (id, error, nextAttemptAt) => guarded(() => outbox.recordFailure(id, error, nextAttemptAt)),
    settle: (item, ending, react) =>
      guarded(() =>
        store.runDurable(() => {
          const now = store.now();
          const ended =
            ending.outcome === 'acknowledged' ? outbox.markAcknowledged(item.id) : outbox.markEnded(item.id, ending.outcome, ending.error);
          if (!ended || !react) return ended; // ended already (an operator, or another path): nothing to do
          const error = ending.outcome === 'acknowledged' ? item.lastError : ending.error;
          const done: OutboxItem = { ...item, doneAt: now, outcome: ending.outcome, lastError: error };
          // A throw rolls back this group-commit item's savepoint: the ending and the move together.
          applySettlementReaction(store, done, react);
          return true;
        }),
      ),
  };
}

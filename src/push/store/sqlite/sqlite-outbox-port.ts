/**
 * The {@link OutboxPort} on SQLite: the store's own `Outbox` (one agent per file, so every pending item
 * is this agent's) and its group commit. New items come from the outbox's in-memory stage; a settlement
 * is one group-commit item that decides before it writes (settleItem): a throwing reaction leaves nothing
 * written — the ending neither.
 */
import type { OutboxPort } from '../../outbox/outbox-port.js';
import { guarded, settleItem } from './sqlite-push-store-port.js';
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
      guarded(async () => {
        // One read, the decision, then one UPDATE (or the ending with the move in one transaction).
        const result = await store.runDurableRefusingFirst(() => settleItem(store, item, ending, react, 'roll-back'), true);
        if (result.reactionError !== undefined) throw result.reactionError;
        return result.ended;
      }),
  };
}

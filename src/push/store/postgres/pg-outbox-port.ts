/**
 * The {@link OutboxPort} on PostgreSQL (cluster mode). Every agent of the cluster shares the outbox
 * table; an agent sends only the items whose lease it holds (`lease_owner`, pg-leases.ts): the items its
 * own transactions queued, and those it took over from an agent whose lease lapsed (then the dispatcher
 * is told to `rescan()`). New items come from the store's stage (pg-outbox-stage.ts), filled once the
 * inserting transaction committed; a settlement is one transaction in which a failing reaction rolls
 * back the ending too.
 */
import type { OutboxRow } from '../../outbox/outbox.js';
import { toItem } from '../../outbox/outbox.js';
import type { OutboxPort } from '../../outbox/outbox-port.js';
import { OUTBOX_COLUMNS } from '../../outbox/outbox.js';
import { type PgPushStore, run } from './pg-push-store.js';
import { portError } from './pg-rows.js';

export function pgOutboxPort(store: PgPushStore): OutboxPort {
  const owner = store.leases.owner;
  const query = async <R extends object>(text: string, values: unknown[]): Promise<R[]> => {
    try {
      return (await run<R>(store.pool, text, values)).rows;
    } catch (err) {
      throw portError(err);
    }
  };
  return {
    // Staged only after the commit: nothing staged can still roll back, so never 'busy'.
    takeNew: async () => ({ ...store.outboxStage.take(), withdrawn: [] }),
    async pending(limit, skip) {
      // One row past the limit tells whether more remain (`complete`).
      const rows = await query<OutboxRow>(
        `SELECT ${OUTBOX_COLUMNS} FROM outbox
          WHERE lease_owner = $1 AND done_at IS NULL AND parked_at IS NULL AND id <> ALL($2::bigint[])
          ORDER BY next_attempt_at, id
          LIMIT $3`,
        [owner, [...skip], limit + 1],
      );
      return { items: rows.slice(0, limit).map(toItem), complete: rows.length <= limit };
    },
    async recordFailure(id, error, nextAttemptAt) {
      await query(
        `UPDATE outbox SET attempts = attempts + 1, last_error = $2, next_attempt_at = $3
          WHERE id = $1 AND done_at IS NULL`,
        [id, error, nextAttemptAt],
      );
    },
    settle: (item, ending, react) => store.settleOutboxAllOrNothing(item.id, ending, react),
  };
}

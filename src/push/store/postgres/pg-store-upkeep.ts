/**
 * What an agent does to the shared PostgreSQL store besides the push flow: the counts `/metrics` shows
 * and the retention prune. The counts are the whole cluster's (one store, every agent's pushes), read by
 * one query per refresh and served from the last snapshot, because a scrape reads them synchronously and
 * must not wait on the network. The prune is safe to run from every agent at once: each deletes a
 * disjoint batch (`FOR UPDATE SKIP LOCKED`), and a push that still owes a POST is never deleted.
 */
import type { Pool } from 'pg';
import type { OutboxStats } from '../../outbox/outbox-item.js';
import { PUSH_STATES, TERMINAL_STATES, type PushState } from '../push-state.js';
import { BIGINT_AS_NUMBER } from './pg-rows.js';
import { checkout } from './pg-checkout.js';

const TERMINAL = [...TERMINAL_STATES];
const EMPTY_OUTBOX: OutboxStats = { pending: 0, parked: 0, done: 0, refused: 0, gaveUp: 0 };

export class PgStoreStats {
  private byState: Record<PushState, number> = Object.fromEntries(PUSH_STATES.map((s) => [s, 0])) as Record<PushState, number>;
  private outboxStats: OutboxStats = EMPTY_OUTBOX;
  /** When the snapshot was last read (ms since the epoch); undefined before the first read. */
  refreshedAt: number | undefined;
  readonly outbox = { stats: (): OutboxStats => this.outboxStats };

  constructor(private readonly pool: Pool) {}

  /** Reads the counts again (one round trip per table). */
  async refresh(): Promise<void> {
    const states = await this.pool.query<{ state: PushState; n: number }>({
      text: 'SELECT state, COUNT(*) AS n FROM pushes GROUP BY state',
      types: BIGINT_AS_NUMBER,
    });
    const outbox = await this.pool.query<OutboxStats>({
      text: `SELECT
         COUNT(*) FILTER (WHERE done_at IS NULL AND parked_at IS NULL) AS pending,
         COUNT(*) FILTER (WHERE done_at IS NULL AND parked_at IS NOT NULL) AS parked,
         COUNT(*) FILTER (WHERE done_at IS NOT NULL AND COALESCE(outcome, 'acknowledged') = 'acknowledged') AS done,
         COUNT(*) FILTER (WHERE outcome = 'refused') AS refused,
         COUNT(*) FILTER (WHERE outcome = 'gave-up') AS "gaveUp"
       FROM outbox`,
      types: BIGINT_AS_NUMBER,
    });
    const byState = Object.fromEntries(PUSH_STATES.map((s) => [s, 0])) as Record<PushState, number>;
    for (const row of states.rows) byState[row.state] = row.n;
    this.byState = byState;
    this.outboxStats = outbox.rows[0] ?? EMPTY_OUTBOX;
    this.refreshedAt = Date.now();
  }

  countsByState(): Readonly<Record<PushState, number>> {
    return this.byState;
  }

  /** Non-terminal pushes in the whole store. */
  backlog(): number {
    return PUSH_STATES.filter((s) => !TERMINAL_STATES.has(s)).reduce((n, s) => n + this.byState[s], 0);
  }
}

/**
 * Deletes up to `batch` terminal pushes last changed before `olderThanMs` ago that owe no POST, with
 * their history and outbox rows, in one transaction. Returns how many were deleted.
 */
export async function prunePg(pool: Pool, olderThanMs: number, batch = 10_000, now = Date.now()): Promise<number> {
  const held = await checkout(pool);
  const client = held.client;
  try {
    await client.query('BEGIN');
    const victims = await client.query<{ push_id: string }>(
      `SELECT push_id FROM pushes p
        WHERE state = ANY($1) AND updated_at < $2
          AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.push_id = p.push_id AND o.done_at IS NULL)
        LIMIT $3
        FOR UPDATE SKIP LOCKED`,
      [TERMINAL, now - olderThanMs, batch],
    );
    const ids = victims.rows.map((r) => r.push_id);
    if (ids.length > 0) {
      await client.query('DELETE FROM push_history WHERE push_id = ANY($1)', [ids]);
      await client.query('DELETE FROM outbox WHERE push_id = ANY($1)', [ids]);
      await client.query('DELETE FROM pushes WHERE push_id = ANY($1)', [ids]);
    }
    await client.query('COMMIT');
    return ids.length;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    held.release();
  }
}

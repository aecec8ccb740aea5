/**
 * Ownership of open work in cluster mode. Every non-terminal push and every pending outbox item names the
 * agent working on it and until when (`lease_owner`, `lease_until`). The owner renews its leases while it
 * lives; a live agent never touches work whose lease another live agent holds. When an agent dies, its
 * leases lapse and the survivors take its work over with `FOR UPDATE SKIP LOCKED` (PostgreSQL "SELECT …
 * The Locking Clause"): two survivors claiming at the same moment get disjoint rows, never the same push,
 * and nobody waits on a row another claimer is taking. A taken-over push is then resumed exactly as a
 * restart resumes it.
 */
import type { Pool } from 'pg';

/** States whose pushes still have work ahead (the store's non-terminal states). */
export const OPEN_STATES: readonly string[] = ['accepted', 'delivering', 'handing-back'];

export interface LeaseOptions {
  pool: Pool;
  /** This agent's instance id. */
  owner: string;
  leaseMs: number;
  now?: () => number;
}

export class PushLeases {
  readonly owner: string;
  private readonly pool: Pool;
  private readonly leaseMs: number;
  private readonly now: () => number;

  constructor(options: LeaseOptions) {
    this.pool = options.pool;
    this.owner = options.owner;
    this.leaseMs = options.leaseMs;
    this.now = options.now ?? Date.now;
  }

  /** The lease columns' values for work this agent creates now. */
  fresh(): { leaseOwner: string; leaseUntil: number } {
    return { leaseOwner: this.owner, leaseUntil: this.now() + this.leaseMs };
  }

  /**
   * Extend every lease this agent holds; returns how many open pushes and pending outbox items it holds.
   * One statement per table, whatever the number of rows.
   */
  async renew(): Promise<{ pushes: number; outbox: number }> {
    const until = this.now() + this.leaseMs;
    const pushes = await this.pool.query('UPDATE pushes SET lease_until = $2 WHERE lease_owner = $1 AND state = ANY($3)', [
      this.owner,
      until,
      OPEN_STATES,
    ]);
    const outbox = await this.pool.query(
      'UPDATE outbox SET lease_until = $2 WHERE lease_owner = $1 AND done_at IS NULL AND parked_at IS NULL',
      [this.owner, until],
    );
    return { pushes: pushes.rowCount ?? 0, outbox: outbox.rowCount ?? 0 };
  }

  /**
   * Take over up to `limit` open pushes whose lease lapsed; returns their push-ids (oldest first). Never
   * this agent's own: work it already holds is renewed, not taken again (it may be in flight here).
   */
  async takeOverPushes(limit: number): Promise<string[]> {
    const now = this.now();
    const res = await this.pool.query<{ push_id: string }>(
      `WITH orphan AS (
         SELECT push_id FROM pushes
          WHERE state = ANY($4) AND (lease_until IS NULL OR lease_until < $2) AND lease_owner IS DISTINCT FROM $1
          ORDER BY created_at
          LIMIT $3
          FOR UPDATE SKIP LOCKED)
       UPDATE pushes p SET lease_owner = $1, lease_until = $5
         FROM orphan WHERE p.push_id = orphan.push_id
       RETURNING p.push_id, p.created_at`,
      [this.owner, now, limit, OPEN_STATES, now + this.leaseMs],
    );
    return res.rows.map((r) => r.push_id);
  }

  /** Take over up to `limit` pending outbox items whose lease lapsed; returns their ids. */
  async takeOverOutbox(limit: number): Promise<number[]> {
    const now = this.now();
    const res = await this.pool.query<{ id: string }>(
      `WITH orphan AS (
         SELECT id FROM outbox
          WHERE done_at IS NULL AND parked_at IS NULL AND (lease_until IS NULL OR lease_until < $2)
            AND lease_owner IS DISTINCT FROM $1
          ORDER BY id
          LIMIT $3
          FOR UPDATE SKIP LOCKED)
       UPDATE outbox o SET lease_owner = $1, lease_until = $4
         FROM orphan WHERE o.id = orphan.id
       RETURNING o.id`,
      [this.owner, now, limit, now + this.leaseMs],
    );
    return res.rows.map((r) => Number(r.id));
  }

  /** Give back every lease this agent holds (clean shutdown), so the others need not wait for it to lapse. */
  async releaseAll(): Promise<void> {
    await this.pool.query('UPDATE pushes SET lease_until = 0 WHERE lease_owner = $1 AND state = ANY($2)', [this.owner, OPEN_STATES]);
    await this.pool.query('UPDATE outbox SET lease_until = 0 WHERE lease_owner = $1 AND done_at IS NULL', [this.owner]);
  }
}

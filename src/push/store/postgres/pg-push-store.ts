/**
 * The {@link PushStorePort} on PostgreSQL (cluster mode): the same lifecycle, history and outbox as the
 * SQLite store, shared by every agent of the cluster. A push-id is unique across the cluster (the primary
 * key; PAP 2007 from whichever agent sees it second). Every state change is one transaction that locks
 * the push's row (`SELECT … FOR UPDATE`), checks the edge and the caller's guard, and writes the row, its
 * history and any outbox items together — so two agents racing on one push (a cancel at B while A
 * delivers, or A waking from a pause after B took its work over) serialise, and exactly one of them
 * moves it; the other gets PUSH_STATE_CONFLICT, as a second writer does on SQLite.
 *
 * New work carries this agent's lease (pg-leases.ts); `listResumable` returns this agent's own open work
 * plus the work whose lease lapsed, taken over on the way — what a restart, or a survivor, resumes.
 * Outbox items a transaction inserted are staged in memory once it committed (`outboxStage`), for the
 * outbox dispatcher (pg-outbox-port.ts).
 *
 * Storage failures (connection lost, server shutting down, disk full on the server) leave as
 * STORE_UNWRITABLE with the driver's error as `cause`.
 */
import type { Pool, PoolClient } from 'pg';
import { AgentError, ErrorCodes } from '../../../errors.js';
import { OUTBOX_COLUMNS, type OutboxRow, toItem } from '../../outbox/outbox.js';
import { type HistoryRow, type PushRow, toInsertParams, toRecord, transitionValues } from '../push-rows.js';
import { assertTransition } from '../push-state.js';
import { checkout, type HeldClient } from './pg-checkout.js';
import { BIGINT_AS_NUMBER, PUSH_COLUMNS, portError } from './pg-rows.js';
import type { NewOutboxItem, OutboxItem } from '../../outbox/outbox-item.js';
import type { NewPushRecord, PushHistoryEntry, PushRecord, TransitionDetail } from '../push-record.js';
import type { OutboxEnding, PushStorePort, ResumablePush, SettlementReaction, TransitionOptions } from '../push-store-port.js';
import type { PushState } from '../push-state.js';
import { PushLeases } from './pg-leases.js';
import { PgOutboxStage } from './pg-outbox-stage.js';

/** Every query of this store reads BIGINT as a number, so rows have the shape both stores share. */
export function run<R extends object = Record<string, unknown>>(on: Pool | PoolClient, text: string, values: unknown[] = []) {
  return on.query<R>({ text, values, types: BIGINT_AS_NUMBER });
}

/** What a settlement does when its reaction throws: keep the ending alone, or undo the ending too. */
type ReactionFailure = 'keep-ending' | 'undo-all';

export interface PgPushStoreOptions {
  pool: Pool;
  /** This agent's instance id (lease owner). */
  owner: string;
  /** How long this agent's claim on its open work lasts without renewal. */
  leaseMs: number;
  now?: () => number;
  /** Most lapsed pushes taken over per `listResumable` call. */
  takeOverBatch?: number;
}

export class PgPushStore implements PushStorePort {
  readonly leases: PushLeases;
  /** Outbox items of committed transactions, not yet taken by the dispatcher. */
  readonly outboxStage = new PgOutboxStage();
  readonly pool: Pool;
  private readonly now: () => number;
  private readonly takeOverBatch: number;
  /** The tail of each push's queue of writes (see {@link inOrder}); empty when nothing is in flight. */
  private readonly writeLanes = new Map<string, Promise<void>>();

  constructor(options: PgPushStoreOptions) {
    this.pool = options.pool;
    this.now = options.now ?? Date.now;
    this.takeOverBatch = options.takeOverBatch ?? 1000;
    this.leases = new PushLeases({ pool: options.pool, owner: options.owner, leaseMs: options.leaseMs, now: this.now });
  }

  /** One transaction; the outbox items `work` inserts (collected in `staged`) are staged once it committed. */
  private async tx<T>(work: (c: PoolClient, staged: OutboxItem[]) => Promise<T>): Promise<T> {
    let held: HeldClient;
    try {
      held = await checkout(this.pool);
    } catch (err) {
      throw portError(err);
    }
    const client = held.client;
    let broken = false;
    const staged: OutboxItem[] = [];
    try {
      await client.query('BEGIN');
      const out = await work(client, staged);
      await client.query('COMMIT');
      this.outboxStage.add(staged);
      return out;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {
        broken = true;
      });
      throw portError(err);
    } finally {
      held.release(broken);
    }
  }

  private async query<R extends object>(text: string, values: unknown[]): Promise<R[]> {
    try {
      return (await run<R>(this.pool, text, values)).rows;
    } catch (err) {
      throw portError(err);
    }
  }

  /**
   * Runs the writes to one push one after another, in the order they were asked for. The port promises
   * that order (a compare-and-set asked after another write to the same push sees it); the pool alone
   * would not keep it — two connections race to the row lock. Different pushes still run in parallel.
   */
  private inOrder<T>(pushId: string, work: () => Promise<T>): Promise<T> {
    const result = (this.writeLanes.get(pushId) ?? Promise.resolve()).then(work);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.writeLanes.set(pushId, tail);
    void tail.then(() => {
      if (this.writeLanes.get(pushId) === tail) this.writeLanes.delete(pushId);
    });
    return result;
  }

  insert(rec: NewPushRecord): Promise<PushRecord> {
    return this.inOrder(rec.pushId, () => this.insertNow(rec));
  }

  private async insertNow(rec: NewPushRecord): Promise<PushRecord> {
    const now = this.now();
    const lease = this.leases.fresh();
    // One statement: the row and its first history entry commit together (or not at all).
    const rows = await this.query<PushRow>(
      `WITH p AS (
         INSERT INTO pushes (push_id, address, aor, request_content_type, request_body, deliver_after, deliver_before,
                             notify_to, source, submitted_by, state, created_at, updated_at, sip_call_id, sip_from_tag,
                             sip_cseq, lease_owner, lease_until)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'accepted', $11, $12, $13, $14, $15, $16, $17)
         ON CONFLICT (push_id) DO NOTHING
         RETURNING ${PUSH_COLUMNS}),
       h AS (INSERT INTO push_history (push_id, from_state, to_state, at, detail)
             SELECT push_id, NULL, 'accepted', $11, '{}' FROM p)
       SELECT * FROM p`,
      // The shared column order (push-rows.ts), then this agent's lease on the new work.
      [...toInsertParams(rec, now), lease.leaseOwner, lease.leaseUntil],
    );
    const row = rows[0];
    if (!row) throw new AgentError(ErrorCodes.DUPLICATE_PUSH_ID, `push-id ${rec.pushId} already exists`, 'push-id');
    return toRecord(row);
  }

  transition(pushId: string, to: PushState, detail: TransitionDetail = {}, opts: TransitionOptions = {}): Promise<PushRecord> {
    return this.inOrder(pushId, () => this.tx((c, staged) => this.transitionIn(c, staged, pushId, to, detail, opts)));
  }

  private async transitionIn(
    c: PoolClient,
    staged: OutboxItem[],
    pushId: string,
    to: PushState,
    detail: TransitionDetail,
    opts: TransitionOptions,
  ): Promise<PushRecord> {
    const current = await run<{ state: PushState }>(c, 'SELECT state FROM pushes WHERE push_id = $1 FOR UPDATE', [pushId]);
    const from = current.rows[0]?.state;
    if (from === undefined) throw new AgentError(ErrorCodes.PUSH_NOT_FOUND, `no push ${pushId}`, 'push-id');
    assertTransition(pushId, from, to, opts.expectedFrom);
    const now = this.now();
    // Each move to `delivering` is one MESSAGE send that may leave (sip_attempts).
    const updated = await run<PushRow>(
      c,
      `UPDATE pushes SET state = $1, updated_at = $2,
              reason = COALESCE($3, reason), bearer_hint = COALESCE($4, bearer_hint),
              sip_status = COALESCE($5, sip_status), pap_code = COALESCE($6, pap_code),
              sip_attempts = sip_attempts + $7
        WHERE push_id = $8
        RETURNING ${PUSH_COLUMNS}`,
      [...transitionValues(to, now, detail), pushId],
    );
    await run(c, 'INSERT INTO push_history (push_id, from_state, to_state, at, detail) VALUES ($1, $2, $3, $4, $5)', [
      pushId,
      from,
      to,
      now,
      JSON.stringify(detail),
    ]);
    const items = opts.outbox === undefined ? [] : [opts.outbox].flat();
    for (const item of items) staged.push(await this.enqueueIn(c, pushId, item, now));
    return toRecord(updated.rows[0] as PushRow);
  }

  private async enqueueIn(c: PoolClient, pushId: string, item: NewOutboxItem, now: number): Promise<OutboxItem> {
    const lease = this.leases.fresh();
    const inserted = await run<OutboxRow>(
      c,
      `INSERT INTO outbox (push_id, kind, url, content_type, headers, body, next_attempt_at, created_at, lease_owner, lease_until)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
       RETURNING ${OUTBOX_COLUMNS}`,
      [
        pushId,
        item.kind,
        item.url,
        item.contentType,
        JSON.stringify(item.headers ?? {}),
        item.body,
        item.notBefore ?? now,
        now,
        lease.leaseOwner,
        lease.leaseUntil,
      ],
    );
    return toItem(inserted.rows[0] as OutboxRow);
  }

  async get(pushId: string): Promise<PushRecord | undefined> {
    const rows = await this.query<PushRow>(`SELECT ${PUSH_COLUMNS} FROM pushes WHERE push_id = $1`, [pushId]);
    return rows[0] ? toRecord(rows[0]) : undefined;
  }

  async history(pushId: string): Promise<PushHistoryEntry[]> {
    const rows = await this.query<HistoryRow>('SELECT from_state, to_state, at, detail FROM push_history WHERE push_id = $1 ORDER BY seq', [
      pushId,
    ]);
    return rows.map((r) => ({
      from: r.from_state ?? undefined,
      to: r.to_state,
      at: r.at,
      detail: JSON.parse(r.detail) as TransitionDetail,
    }));
  }

  /**
   * Takes over up to `limit` open pushes whose lease lapsed (another agent stopped renewing) and returns
   * them as a restart sees its own: what the lease loop hands to the push core's resume path.
   */
  async takeOver(limit = this.takeOverBatch): Promise<ResumablePush[]> {
    let ids: string[];
    try {
      ids = await this.leases.takeOverPushes(limit);
    } catch (err) {
      throw portError(err);
    }
    if (ids.length === 0) return [];
    const rows = await this.query<{ push_id: string; state: PushState; deliver_after: number | null }>(
      `SELECT push_id, state, deliver_after FROM pushes
        WHERE push_id = ANY($1) AND lease_owner = $2 AND state IN ('accepted', 'delivering', 'handing-back')
        ORDER BY created_at`,
      [ids, this.leases.owner],
    );
    return rows.map((r) => ({ pushId: r.push_id, state: r.state, deliverAfter: r.deliver_after ?? undefined }));
  }

  /** This agent's own open work plus the work whose lease lapsed (taken over now), oldest first. */
  async listResumable(): Promise<ResumablePush[]> {
    try {
      await this.leases.takeOverPushes(this.takeOverBatch);
      await this.leases.renew();
    } catch (err) {
      throw portError(err);
    }
    const rows = await this.query<{ push_id: string; state: PushState; deliver_after: number | null }>(
      `SELECT push_id, state, deliver_after FROM pushes
        WHERE lease_owner = $1 AND state IN ('accepted', 'delivering', 'handing-back')
        ORDER BY created_at`,
      [this.leases.owner],
    );
    return rows.map((r) => ({ pushId: r.push_id, state: r.state, deliverAfter: r.deliver_after ?? undefined }));
  }

  async outboxFor(pushId: string): Promise<OutboxItem[]> {
    const rows = await this.query<OutboxRow>(`SELECT ${OUTBOX_COLUMNS} FROM outbox WHERE push_id = $1 ORDER BY id`, [pushId]);
    return rows.map(toItem);
  }

  async settleOutbox(itemId: number, ending: OutboxEnding, react?: SettlementReaction): Promise<boolean> {
    return this.settle(itemId, ending, react, 'keep-ending');
  }

  /**
   * {@link settleOutbox}, except that a failing reaction rolls back the ending too (the item stays
   * pending) and rejects with the reaction's error: what the outbox dispatcher needs to settle the same
   * answer again (pg-outbox-port.ts).
   */
  async settleOutboxAllOrNothing(itemId: number, ending: OutboxEnding, react?: SettlementReaction): Promise<boolean> {
    return this.settle(itemId, ending, react, 'undo-all');
  }

  private async settle(itemId: number, ending: OutboxEnding, react: SettlementReaction | undefined, onFailure: ReactionFailure) {
    let reactionFailure: unknown;
    const ended = await this.tx(async (c, staged) => {
      const now = this.now();
      const done = await run<OutboxRow>(
        c,
        `UPDATE outbox SET done_at = $2, outcome = $3, last_error = COALESCE($4, last_error)
          WHERE id = $1 AND done_at IS NULL
          RETURNING ${OUTBOX_COLUMNS}`,
        [itemId, now, ending.outcome, ending.outcome === 'acknowledged' ? null : ending.error],
      );
      const row = done.rows[0];
      if (!row || !react) return row !== undefined;
      // A savepoint of its own: a failing reaction rolls back alone, the ending stays (unless undo-all).
      await run(c, 'SAVEPOINT reaction');
      const mark = staged.length;
      try {
        const push = await run<PushRow>(c, `SELECT ${PUSH_COLUMNS} FROM pushes WHERE push_id = $1`, [row.push_id]);
        const move = react(toItem(row), push.rows[0] ? toRecord(push.rows[0]) : undefined);
        if (move) {
          await this.transitionIn(c, staged, row.push_id, move.to, move.detail, move.options);
          move.after?.();
        }
        await run(c, 'RELEASE SAVEPOINT reaction');
      } catch (err) {
        if (onFailure === 'undo-all') throw err; // the whole transaction rolls back
        await run(c, 'ROLLBACK TO SAVEPOINT reaction');
        staged.length = mark;
        reactionFailure = err;
      }
      return true;
    });
    if (reactionFailure !== undefined) throw reactionFailure;
    return ended;
  }

  async probeWrite(): Promise<void> {
    await this.query('INSERT INTO write_probe (id, at) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET at = EXCLUDED.at', [this.now()]);
  }
}

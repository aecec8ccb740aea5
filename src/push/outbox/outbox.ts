import type { Database, Statement } from 'better-sqlite3';
import type { NewOutboxItem, OutboxItem, OutboxKind, OutboxOutcome, OutboxStats } from './outbox-item.js';

/** An outbox row as the stores read it (BIGINT as a number on PostgreSQL too). */
export interface OutboxRow {
  id: number;
  push_id: string;
  kind: OutboxKind;
  url: string;
  content_type: string;
  headers: string;
  body: Buffer;
  attempts: number;
  next_attempt_at: number;
  last_error: string | null;
  created_at: number;
  done_at: number | null;
  parked_at: number | null;
  outcome: OutboxOutcome | null;
}

export const OUTBOX_COLUMNS =
  'id, push_id, kind, url, content_type, headers, body, attempts, next_attempt_at, last_error, ' +
  'created_at, done_at, parked_at, outcome';

export function toItem(row: OutboxRow): OutboxItem {
  return {
    id: row.id,
    pushId: row.push_id,
    kind: row.kind,
    url: row.url,
    contentType: row.content_type,
    headers: JSON.parse(row.headers) as Record<string, string>,
    body: row.body,
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at,
    lastError: row.last_error ?? undefined,
    createdAt: row.created_at,
    doneAt: row.done_at ?? undefined,
    outcome: row.outcome ?? (row.done_at !== null ? 'acknowledged' : undefined),
    parkedAt: row.parked_at ?? undefined,
  };
}

/** Staged items kept at most between a commit and the dispatcher's next look (past it: read from the table). */
const MAX_STAGED = 10_000;

/**
 * The durable outbox of POSTs owed to the PPG. It lives in the push database (schema in
 * `../store/sqlite/schema.ts`) and shares the {@link PushStore}'s connection, so an enqueue can commit in the
 * same transaction as a push state change (`PushStore.transition(..., { outbox })`): a crash cannot
 * leave a push in `handing-back` with nothing queued to hand it back.
 *
 * Obtain it as `store.outbox`; it is not constructed on its own. Every method is one statement or one
 * small transaction. Delivery is at-least-once: an item whose POST was in flight at a crash is sent again.
 * An item ends exactly once: acknowledged, refused or given up (`done_at` + `outcome`).
 *
 * Hand-over to the dispatcher without polling: every enqueued (or requeued) item is also *staged* in
 * memory; the dispatcher takes the staged items after the transaction that queued them ended
 * ({@link takeStaged}) and keeps due items in memory from then on. A staged item whose transaction
 * rolled back is dropped there (one indexed read per take confirms which rows exist). Past
 * `MAX_STAGED` the stage overflows and the dispatcher reads the table instead ({@link pending}).
 */
export class Outbox {
  readonly #now: () => number;
  readonly #insert: Statement<[string, OutboxKind, string, string, string, Buffer, number, number]>;
  readonly #byId: Statement<[number], OutboxRow>;
  readonly #byPush: Statement<[string], OutboxRow>;
  readonly #due: Statement<[number, number], OutboxRow>;
  readonly #dueOfKind: Statement<[number, OutboxKind, number], OutboxRow>;
  readonly #nextDue: Statement<[number], { id: number; next_attempt_at: number }>;
  readonly #nextDueOfKind: Statement<[OutboxKind, number], { id: number; next_attempt_at: number }>;
  readonly #end: Statement<[number, OutboxOutcome, string | null, number]>;
  readonly #fail: Statement<[string, number, number]>;
  readonly #park: Statement<[number, string, number]>;
  readonly #requeue: Statement<[number, number]>;
  readonly #stats: Statement<[], OutboxStats>;
  readonly #pending: Statement<[number], OutboxRow>;
  readonly #openIds: Statement<[number, number], { id: number }>;
  readonly #db: Database;
  /** Enqueued or requeued since the dispatcher last looked, by id (a reused id after a rollback: the last wins). */
  #staged = new Map<number, OutboxItem>();
  #stageOverflowed = false;
  /** Parked since the dispatcher last looked (it drops them from memory). */
  #parked = new Set<number>();

  /** @internal Built by `PushStore`; use `store.outbox`. */
  constructor(db: Database, now: () => number) {
    this.#now = now;
    this.#db = db;
    this.#pending = db.prepare(
      `SELECT ${OUTBOX_COLUMNS} FROM outbox WHERE done_at IS NULL AND parked_at IS NULL ORDER BY next_attempt_at, id LIMIT ?`,
    );
    this.#openIds = db.prepare('SELECT id FROM outbox WHERE id BETWEEN ? AND ? AND done_at IS NULL AND parked_at IS NULL');
    this.#insert = db.prepare(
      `INSERT INTO outbox (push_id, kind, url, content_type, headers, body, next_attempt_at, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.#byId = db.prepare(`SELECT ${OUTBOX_COLUMNS} FROM outbox WHERE id = ?`);
    this.#byPush = db.prepare(`SELECT ${OUTBOX_COLUMNS} FROM outbox WHERE push_id = ? ORDER BY id`);
    this.#due = db.prepare(
      `SELECT ${OUTBOX_COLUMNS} FROM outbox WHERE done_at IS NULL AND parked_at IS NULL AND next_attempt_at <= ?
       ORDER BY next_attempt_at, id LIMIT ?`,
    );
    this.#dueOfKind = db.prepare(
      `SELECT ${OUTBOX_COLUMNS} FROM outbox WHERE done_at IS NULL AND parked_at IS NULL AND next_attempt_at <= ?
       AND kind = ? ORDER BY next_attempt_at, id LIMIT ?`,
    );
    this.#nextDue = db.prepare(
      `SELECT id, next_attempt_at FROM outbox WHERE done_at IS NULL AND parked_at IS NULL
       ORDER BY next_attempt_at, id LIMIT ?`,
    );
    this.#nextDueOfKind = db.prepare(
      `SELECT id, next_attempt_at FROM outbox WHERE done_at IS NULL AND parked_at IS NULL AND kind = ?
       ORDER BY next_attempt_at, id LIMIT ?`,
    );
    this.#end = db.prepare(
      `UPDATE outbox SET done_at = ?, outcome = ?, last_error = COALESCE(?, last_error)
       WHERE id = ? AND done_at IS NULL`,
    );
    this.#fail = db.prepare(
      `UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?
       WHERE id = ? AND done_at IS NULL`,
    );
    this.#park = db.prepare('UPDATE outbox SET parked_at = ?, last_error = ? WHERE id = ? AND done_at IS NULL');
    this.#requeue = db.prepare('UPDATE outbox SET parked_at = NULL, next_attempt_at = ? WHERE id = ? AND done_at IS NULL');
    this.#stats = db.prepare(
      `SELECT
         COALESCE(SUM(done_at IS NULL AND parked_at IS NULL), 0) AS pending,
         COALESCE(SUM(done_at IS NULL AND parked_at IS NOT NULL), 0) AS parked,
         COALESCE(SUM(done_at IS NOT NULL AND COALESCE(outcome, 'acknowledged') = 'acknowledged'), 0) AS done,
         COALESCE(SUM(outcome = 'refused'), 0) AS refused,
         COALESCE(SUM(outcome = 'gave-up'), 0) AS gaveUp
       FROM outbox`,
    );
  }

  /** Queues a POST for `pushId` (which must exist: foreign key). Prefer the transition option. */
  enqueue(pushId: string, item: NewOutboxItem): OutboxItem {
    const now = this.#now();
    const headers = item.headers ?? {};
    const info = this.#insert.run(
      pushId,
      item.kind,
      item.url,
      item.contentType,
      JSON.stringify(headers),
      item.body,
      item.notBefore ?? now,
      now,
    );
    // The row as stored, built from what was inserted (no read back).
    const queued: OutboxItem = {
      id: Number(info.lastInsertRowid),
      pushId,
      kind: item.kind,
      url: item.url,
      contentType: item.contentType,
      headers: { ...headers },
      body: item.body,
      attempts: 0,
      nextAttemptAt: item.notBefore ?? now,
      lastError: undefined,
      createdAt: now,
      doneAt: undefined,
      outcome: undefined,
      parkedAt: undefined,
    };
    this.#stage(queued);
    return queued;
  }

  #stage(item: OutboxItem): void {
    if (this.#staged.size >= MAX_STAGED && !this.#staged.has(item.id)) {
      this.#stageOverflowed = true; // the dispatcher reads the table instead
      return;
    }
    this.#staged.delete(item.id);
    this.#staged.set(item.id, item);
  }

  /**
   * The items enqueued or requeued since the last call whose rows exist and are pending (a rolled-back
   * enqueue is dropped), and whether some were not kept in memory (then read {@link pending}). Undefined
   * while a transaction is open: its items are not committed yet; ask again after it.
   */
  takeStaged(): { items: OutboxItem[]; overflowed: boolean; parked: number[] } | undefined {
    if (this.#db.inTransaction) return undefined;
    const staged = this.#staged;
    const overflowed = this.#stageOverflowed;
    const parked = [...this.#parked];
    this.#staged = new Map();
    this.#stageOverflowed = false;
    this.#parked.clear();
    if (staged.size === 0) return { items: [], overflowed, parked };
    let lo = Number.POSITIVE_INFINITY;
    let hi = Number.NEGATIVE_INFINITY;
    for (const id of staged.keys()) {
      lo = Math.min(lo, id);
      hi = Math.max(hi, id);
    }
    const open = new Set(this.#openIds.all(lo, hi).map((row) => row.id));
    const items: OutboxItem[] = [];
    for (const [id, item] of staged) if (open.has(id)) items.push(item);
    return { items, overflowed, parked };
  }

  /**
   * Up to `limit` pending items (not done, not parked, due or not) not in `skip`, earliest due first:
   * what the dispatcher loads at start and after the stage overflowed. `complete` is true when no other
   * pending item exists.
   */
  pending(limit: number, skip: ReadonlySet<number>): { items: OutboxItem[]; complete: boolean } {
    const rows = this.#pending.all(limit + skip.size);
    const items: OutboxItem[] = [];
    for (const row of rows) if (!skip.has(row.id) && items.length < limit) items.push(toItem(row));
    const others = rows.filter((row) => !skip.has(row.id)).length;
    return { items, complete: rows.length < limit + skip.size && others <= limit };
  }

  get(id: number): OutboxItem | undefined {
    const row = this.#byId.get(id);
    return row ? toItem(row) : undefined;
  }

  /** Every item ever queued for a push, oldest first (done ones included, until pruned). */
  listForPush(pushId: string): OutboxItem[] {
    return this.#byPush.all(pushId).map(toItem);
  }

  /**
   * Up to `limit` items due at `now` (not done, not parked, not in `skip`), oldest due first; only of
   * `kind` when given (the dispatcher drains hand-backs and notifications in separate lanes).
   */
  due(now: number, limit: number, skip: ReadonlyMap<number, unknown> = new Map(), kind?: OutboxKind): OutboxItem[] {
    const rows = kind === undefined ? this.#due.all(now, limit + skip.size) : this.#dueOfKind.all(now, kind, limit + skip.size);
    return rows
      .filter((row) => !skip.has(row.id))
      .slice(0, limit)
      .map(toItem);
  }

  /** When the earliest pending item (of `kind`) not in `skip` falls due; undefined when there is none. */
  nextDueAt(skip: ReadonlyMap<number, unknown> = new Map(), kind?: OutboxKind): number | undefined {
    const rows = kind === undefined ? this.#nextDue.all(skip.size + 1) : this.#nextDueOfKind.all(kind, skip.size + 1);
    return rows.find((row) => !skip.has(row.id))?.next_attempt_at;
  }

  /** Records the acknowledgement. False when the item had already ended (nothing changed). */
  markAcknowledged(id: number): boolean {
    return this.#end.run(this.#now(), 'acknowledged', null, id).changes === 1;
  }

  /**
   * Ends an item without an acknowledgement (refused, or given up): never sent again, kept in the table
   * with `error` as its last error. False when it had already ended.
   */
  markEnded(id: number, outcome: Exclude<OutboxOutcome, 'acknowledged'>, error: string): boolean {
    return this.#end.run(this.#now(), outcome, error, id).changes === 1;
  }

  /** Counts a failed POST and schedules the next one. */
  recordFailure(id: number, error: string, nextAttemptAt: number): void {
    this.#fail.run(error, nextAttemptAt, id);
  }

  /** Holds an item (an operator's decision): it stays in the table, unsent, until {@link requeue}. */
  park(id: number, error: string): void {
    if (this.#park.run(this.#now(), error, id).changes === 1) {
      this.#parked.add(id);
      this.#staged.delete(id);
    }
  }

  /** Puts a parked (or pending) item back in line, due now. False when it is done or unknown. */
  requeue(id: number): boolean {
    if (this.#requeue.run(this.#now(), id).changes !== 1) return false;
    this.#parked.delete(id);
    const item = this.get(id);
    if (item) this.#stage(item);
    return true;
  }

  stats(): OutboxStats {
    return this.#stats.get() as OutboxStats;
  }
}

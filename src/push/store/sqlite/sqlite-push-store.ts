/**
 * The SQLite push store: the PushStore class (open, transactions and group commit, insert, transition,
 * reads, prune). Its row mapping is in push-rows.ts, its prepared statements in push-statements.ts.
 */
import BetterSqlite3 from 'better-sqlite3';
import type { Database } from 'better-sqlite3';
import { AgentError, ErrorCodes } from '../../../errors.js';
import { Outbox } from '../../outbox/outbox.js';
import type { NewPushRecord, PushHistoryEntry, PushRecord, PushSummary, TransitionDetail } from '../push-record.js';
import { PUSH_STATES, assertTransition, type PushState } from '../push-state.js';
import { GroupCommit, type GroupCommitStats } from './group-commit.js';
import { insertedRecord, toInsertParams, toRecord, toSummary, transitionValues } from '../push-rows.js';
import { originsOf, preparePushStatements, type PushStatements, type SummaryRow } from './push-statements.js';
import type { PushStoreOptions, TransitionOptions } from './push-store-options.js';
import { configureConnection, migrate } from './schema.js';

function isPrimaryKeyViolation(err: unknown): boolean {
  return err instanceof Error && (err as { code?: unknown }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/** The refusals insert and transition make before they write anything (see {@link GroupCommit}). */
const REFUSALS: ReadonlySet<string> = new Set([ErrorCodes.DUPLICATE_PUSH_ID, ErrorCodes.PUSH_NOT_FOUND, ErrorCodes.PUSH_STATE_CONFLICT]);

function isRefusal(err: unknown): boolean {
  return err instanceof AgentError && REFUSALS.has(err.code);
}

/** One entry of the `history` column (schema.ts, migration 5): `from` null for the insert. */
interface HistoryEntryJson {
  f: PushState | null;
  t: PushState;
  at: number;
  d: TransitionDetail;
}

export type { PushStoreOptions, TransitionOptions } from './push-store-options.js';

/** How long a durable write waits for others to share its commit, unless the options say otherwise. */
export const DEFAULT_COMMIT_WINDOW_MS = 2;

/**
 * The durable record of every accepted push (each accepted push ends in exactly one
 * terminal state, and nothing accepted is lost across restarts). SQLite via better-sqlite3, WAL journal,
 * prepared statements; each state change is one UPDATE (compare-and-set, history entry appended in the row)
 * committed through the group commit.
 *
 * One agent process owns the file; the WHERE-state guard on every update still makes a concurrent writer
 * (e.g. an admin tool) lose cleanly with `PUSH_STATE_CONFLICT` instead of overwriting.
 */
export class PushStore {
  /** The PPG outbox on the same connection; see {@link Outbox}. */
  readonly outbox: Outbox;
  readonly #db: Database;
  readonly #now: () => number;
  readonly #batch: GroupCommit;
  readonly #stmt: PushStatements;
  /** One transaction wrapper for the connection (BEGIN IMMEDIATE, or a savepoint when nested), made once. */
  readonly #tx: <T>(fn: () => T) => T;

  private constructor(db: Database, now: () => number, maxBatch: number, windowMs: number) {
    this.#db = db;
    this.#now = now;
    const wrapper = db.transaction((fn: () => unknown) => fn());
    this.#tx = <T>(fn: () => T): T => wrapper.immediate(fn) as T;
    this.#batch = new GroupCommit({ tx: this.#tx, inTransaction: () => db.inTransaction, maxBatch, windowMs, isRefusal });
    this.outbox = new Outbox(db, now);
    this.#stmt = preparePushStatements(db);
  }

  /** Opens (creating and migrating as needed) the store at `path`, or an in-memory one for tests. */
  static open(path: string, opts: PushStoreOptions = {}): PushStore {
    const db = new BetterSqlite3(path, opts.onSql ? { verbose: (sql) => opts.onSql?.(String(sql)) } : {});
    try {
      configureConnection(db, opts.synchronous ?? 'FULL');
      migrate(db);
      return new PushStore(db, opts.now ?? Date.now, opts.maxBatch ?? 256, opts.commitWindowMs ?? DEFAULT_COMMIT_WINDOW_MS);
    } catch (err) {
      db.close();
      throw err;
    }
  }

  /** The store's clock (ms since the epoch). */
  now(): number {
    return this.#now();
  }

  /** What SQLite reports for this connection: `wal`/`memory`, and synchronous 2 = FULL, 1 = NORMAL. */
  sqliteSettings(): { journalMode: string; synchronous: number } {
    return {
      journalMode: String(this.#db.pragma('journal_mode', { simple: true })),
      synchronous: Number(this.#db.pragma('synchronous', { simple: true })),
    };
  }

  /**
   * Runs `fn` in one IMMEDIATE transaction (nested calls become savepoints). `fn` must be synchronous:
   * anything it awaits runs after the commit. Work queued with the `…Durable` methods and not yet
   * committed goes first, in the same transaction (each item in its own savepoint), so writes commit in
   * the order they were asked for; if `fn` throws, its own changes roll back, the queued ones commit.
   * Every synchronous write method (`insert`, `transition`, `prune`) goes through here.
   */
  runInTransaction<T>(fn: () => T): T {
    if (this.#db.inTransaction || this.#batch.pending === 0) return this.#tx(fn);
    return this.#batch.flush(fn) as T;
  }

  /**
   * Group commit: queues `fn` (synchronous) to run in its own savepoint inside the next shared
   * transaction — after the commit window (`commitWindowMs`), or at once when `maxBatch` items wait — and
   * resolves with its result once that transaction has COMMITTED (fsynced at FULL). A throw from `fn`
   * rejects only this promise. A crash before the commit loses only work whose promise never resolved.
   */
  runDurable<T>(fn: () => T): Promise<T> {
    return this.#batch.enqueue(fn);
  }

  /**
   * {@link runDurable} for work that writes nothing when it refuses (its only expected errors are
   * DUPLICATE_PUSH_ID, PUSH_NOT_FOUND or PUSH_STATE_CONFLICT thrown before its first write succeeds): no
   * savepoint. Any other error rolls the batch back and the others run again (see GroupCommit). With
   * `oneWrite` (it writes with one statement, reads aside), alone in its batch it needs no BEGIN/COMMIT.
   */
  runDurableRefusingFirst<T>(fn: () => T, oneWrite = false): Promise<T> {
    return this.#batch.enqueue(fn, oneWrite ? 'one-write' : 'refuses-before-writing');
  }

  /** {@link insert} through the group commit: resolves once the push is on disk (answer PAP 1001 then). */
  insertDurable(rec: NewPushRecord): Promise<PushRecord> {
    return this.runDurableRefusingFirst(() => this.#insert(rec), true);
  }

  /** {@link transition} (state, history and outbox rows atomically) through the group commit. */
  transitionDurable(pushId: string, to: PushState, detail: TransitionDetail = {}, opts: TransitionOptions = {}): Promise<PushSummary> {
    return this.runDurableRefusingFirst(() => this.#transition(pushId, to, detail, opts), opts.outbox === undefined);
  }

  /** Commits queued group-commit work now (each item's promise settles). A no-op when nothing waits. */
  flushDurable(): void {
    if (this.#batch.pending > 0 && !this.#db.inTransaction) this.#batch.flush();
  }

  /** Counters of the group commit (transactions, items, largest batch, pending). */
  groupCommitStats(): GroupCommitStats {
    return this.#batch.stats();
  }

  /** Records a newly accepted push. PAP 2007: a push-id seen before (also before a restart) throws. */
  insert(rec: NewPushRecord): PushRecord {
    return this.#db.inTransaction ? this.#insert(rec) : this.runInTransaction(() => this.#insert(rec));
  }

  /**
   * Moves a push to `to` as one atomic compare-and-set, appends the history entry, and queues any
   * `opts.outbox` POSTs in the same transaction. Throws `PUSH_NOT_FOUND`, or `PUSH_STATE_CONFLICT` for
   * an edge {@link assertTransition} refuses or a failed `expectedFrom` guard. Returns the push without
   * its body.
   */
  transition(pushId: string, to: PushState, detail: TransitionDetail = {}, opts: TransitionOptions = {}): PushSummary {
    const body = () => this.#transition(pushId, to, detail, opts);
    return this.#db.inTransaction ? body() : this.runInTransaction(body);
  }

  /** One INSERT: the row with its first history entry; the record is built from what was written. */
  #insert(rec: NewPushRecord): PushRecord {
    const now = this.#now();
    try {
      this.#stmt.insert.run(...toInsertParams(rec, now), `{"f":null,"t":"accepted","at":${now},"d":{}}`);
    } catch (err) {
      if (!isPrimaryKeyViolation(err)) throw err;
      // SQLite backed out the statement alone: nothing of this insert was written.
      throw new AgentError(ErrorCodes.DUPLICATE_PUSH_ID, `push-id ${rec.pushId} already exists`, 'push-id', { cause: err });
    }
    return insertedRecord(rec, now);
  }

  /**
   * One UPDATE is the compare-and-set (`WHERE push_id = ? AND state IN (<origins of to>)`), the history
   * append and the read of the result; only a refusal reads again, to say why. Outbox rows follow it.
   */
  #transition(pushId: string, to: PushState, detail: TransitionDetail, opts: TransitionOptions): PushSummary {
    const now = this.#now();
    const row = this.#stmt
      .transition(to, originsOf(to, opts.expectedFrom))
      .get(...transitionValues(to, now, detail), `"t":"${to}","at":${now},"d":${JSON.stringify(detail)}}`, pushId);
    if (!row) this.#refuse(pushId, to, opts);
    for (const item of opts.outbox === undefined ? [] : [opts.outbox].flat()) {
      this.outbox.enqueue(pushId, item);
    }
    return toSummary(row);
  }

  /** Why a compare-and-set matched no row: no such push, or a state the move may not start from. */
  #refuse(pushId: string, to: PushState, opts: TransitionOptions): never {
    const current = this.#stmt.state.get(pushId);
    if (!current) throw new AgentError(ErrorCodes.PUSH_NOT_FOUND, `no push ${pushId}`, 'push-id');
    assertTransition(pushId, current.state, to, opts.expectedFrom);
    throw new AgentError(ErrorCodes.PUSH_STATE_CONFLICT, `push ${pushId} changed concurrently`, 'state');
  }

  get(pushId: string): PushRecord | undefined {
    const row = this.#stmt.get.get(pushId);
    return row ? toRecord(row) : undefined;
  }

  /** The push without its body (what a settlement decides from); undefined for an unknown push. */
  getSummary(pushId: string): PushSummary | undefined {
    const row = this.#stmt.summary.get(pushId);
    return row ? toSummary(row) : undefined;
  }

  /**
   * Whether outbox item `id` is still open and, if so, its push without the body (undefined when the push
   * is gone), in one read: what a settlement decides from before it writes.
   */
  openItemPush(id: number): { push: PushSummary | undefined } | undefined {
    const row = this.#stmt.itemWithPush.get(id);
    if (!row || row.done_at !== null) return undefined;
    return { push: row.push_id ? toSummary(row as SummaryRow) : undefined };
  }

  /** The audit trail, oldest first; empty for an unknown push. */
  history(pushId: string): PushHistoryEntry[] {
    const text = this.#stmt.history.get(pushId)?.history ?? '';
    // Entries joined by commas; a row migrated without any history row starts with the separator.
    const list = text.startsWith(',') ? text.slice(1) : text;
    return (JSON.parse(`[${list}]`) as HistoryEntryJson[]).map((e) => ({ from: e.f ?? undefined, to: e.t, at: e.at, detail: e.d }));
  }

  /** Every non-terminal push, oldest first: what a restart must pick up again. */
  listResumable(): PushRecord[] {
    return this.#stmt.resumable.all().map(toRecord);
  }

  /**
   * {@link listResumable} without the bodies: id, state and deliver-after of every non-terminal push.
   * A restart schedules from this and reads a body only when its push is due.
   */
  listResumableDue(): Array<{ pushId: string; state: PushState; deliverAfter: number | undefined }> {
    return this.#stmt.resumableDue.all().map((r) => ({ pushId: r.push_id, state: r.state, deliverAfter: r.deliver_after ?? undefined }));
  }

  /**
   * One small committed write (a row rewritten in `write_probe`), with any queued group-commit work
   * first: throws the storage error (SQLITE_FULL, SQLITE_IOERR…) while the disk refuses writes.
   */
  probeWrite(): void {
    this.runInTransaction(() => {
      this.#stmt.probe.run(this.#now());
    });
  }

  /** Number of pushes in each state (zeros included). */
  countsByState(): Record<PushState, number> {
    const counts = Object.fromEntries(PUSH_STATES.map((s) => [s, 0])) as Record<PushState, number>;
    for (const { state, n } of this.#stmt.counts.all()) counts[state] = n;
    return counts;
  }

  /** Number of non-terminal pushes. */
  backlog(): number {
    return this.#stmt.backlog.get()?.n ?? 0;
  }

  /**
   * Deletes terminal pushes last changed more than `olderThanMs` ago, with their history and outbox
   * rows. A push that still owes the PPG a POST is kept whatever its age. Returns how many were deleted.
   */
  prune(olderThanMs: number): number {
    return this.runInTransaction(() => {
      const victims = this.#stmt.prunable.all(this.#now() - olderThanMs);
      for (const { push_id } of victims) {
        this.#stmt.deleteOutbox.run(push_id);
        this.#stmt.deletePush.run(push_id);
      }
      return victims.length;
    });
  }

  /** Commits any queued group-commit work, then closes. */
  close(): void {
    if (!this.#db.open) return;
    try {
      this.flushDurable();
    } finally {
      this.#db.close();
    }
  }
}

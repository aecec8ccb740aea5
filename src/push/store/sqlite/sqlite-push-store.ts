/**
 * The SQLite push store: the PushStore class (open, transactions and group commit, insert, transition,
 * reads, prune). Its row mapping is in push-rows.ts, its prepared statements in push-statements.ts.
 */
import BetterSqlite3 from 'better-sqlite3';
import type { Database } from 'better-sqlite3';
import { AgentError, ErrorCodes } from '../../../errors.js';
import { Outbox } from '../../outbox/outbox.js';
import type { NewPushRecord, PushHistoryEntry, PushRecord, TransitionDetail } from '../push-record.js';
import { PUSH_STATES, assertTransition, type PushState } from '../push-state.js';
import { GroupCommit, type GroupCommitStats } from './group-commit.js';
import { toInsertParams, toRecord } from '../push-rows.js';
import { preparePushStatements, type PushStatements } from './push-statements.js';
import type { PushStoreOptions, TransitionOptions } from './push-store-options.js';
import { configureConnection, migrate } from './schema.js';

function isPrimaryKeyViolation(err: unknown): boolean {
  return err instanceof Error && (err as { code?: unknown }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

export type { PushStoreOptions, TransitionOptions } from './push-store-options.js';

/**
 * The durable record of every accepted push (each accepted push ends in exactly one
 * terminal state, and nothing accepted is lost across restarts). SQLite via better-sqlite3, WAL journal,
 * prepared statements, one small transaction per state change, each with a history row.
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

  private constructor(db: Database, now: () => number, maxBatch: number) {
    this.#db = db;
    this.#now = now;
    this.#batch = new GroupCommit(
      (fn) => db.transaction(fn).immediate(),
      () => db.inTransaction,
      maxBatch,
    );
    this.outbox = new Outbox(db, now);
    this.#stmt = preparePushStatements(db);
  }

  /** Opens (creating and migrating as needed) the store at `path`, or an in-memory one for tests. */
  static open(path: string, opts: PushStoreOptions = {}): PushStore {
    const db = new BetterSqlite3(path, opts.onSql ? { verbose: (sql) => opts.onSql?.(String(sql)) } : {});
    try {
      configureConnection(db, opts.synchronous ?? 'FULL');
      migrate(db);
      return new PushStore(db, opts.now ?? Date.now, opts.maxBatch ?? 256);
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
    if (this.#db.inTransaction || this.#batch.pending === 0) return this.#db.transaction(fn).immediate();
    return this.#batch.flush(fn) as T;
  }

  /**
   * Group commit: queues `fn` (synchronous) to run in its own savepoint inside the next shared
   * transaction — on the next `setImmediate`, or at once when `maxBatch` items wait — and resolves with
   * its result once that transaction has COMMITTED (fsynced at FULL). A throw from `fn` rejects only this
   * promise. A crash before the commit loses only work whose promise never resolved.
   */
  runDurable<T>(fn: () => T): Promise<T> {
    return this.#batch.enqueue(fn);
  }

  /** {@link insert} through the group commit: resolves once the push is on disk (answer PAP 1001 then). */
  insertDurable(rec: NewPushRecord): Promise<PushRecord> {
    return this.runDurable(() => this.insert(rec));
  }

  /** {@link transition} (state, history and outbox rows atomically) through the group commit. */
  transitionDurable(pushId: string, to: PushState, detail: TransitionDetail = {}, opts: TransitionOptions = {}): Promise<PushRecord> {
    return this.runDurable(() => this.transition(pushId, to, detail, opts));
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
    const now = this.#now();
    return this.runInTransaction(() => {
      try {
        this.#stmt.insert.run(...toInsertParams(rec, now));
      } catch (err) {
        if (!isPrimaryKeyViolation(err)) throw err;
        throw new AgentError(ErrorCodes.DUPLICATE_PUSH_ID, `push-id ${rec.pushId} already exists`, 'push-id', { cause: err });
      }
      this.#stmt.addHistory.run(rec.pushId, null, 'accepted', now, '{}');
      return this.#mustGet(rec.pushId);
    });
  }

  /**
   * Moves a push to `to` as one atomic compare-and-set, appends the history row, and queues any
   * `opts.outbox` POSTs in the same transaction. Throws `PUSH_NOT_FOUND`, or `PUSH_STATE_CONFLICT` for
   * an edge {@link assertTransition} refuses or a failed `expectedFrom` guard.
   */
  transition(pushId: string, to: PushState, detail: TransitionDetail = {}, opts: TransitionOptions = {}): PushRecord {
    return this.runInTransaction(() => {
      const from = this.#mustGet(pushId).state;
      assertTransition(pushId, from, to, opts.expectedFrom);
      const now = this.#now();
      // Each move to `delivering` is one MESSAGE send that may leave (sip_attempts; see schema.ts).
      const changed = this.#stmt.update.run(
        to,
        now,
        detail.reason ?? null,
        detail.bearerHint ?? null,
        detail.sipStatus ?? null,
        detail.papCode ?? null,
        to === 'delivering' ? 1 : 0,
        pushId,
        from,
      ).changes;
      if (changed !== 1) {
        throw new AgentError(ErrorCodes.PUSH_STATE_CONFLICT, `push ${pushId} changed concurrently`, 'state');
      }
      this.#stmt.addHistory.run(pushId, from, to, now, JSON.stringify(detail));
      for (const item of opts.outbox === undefined ? [] : [opts.outbox].flat()) {
        this.outbox.enqueue(pushId, item);
      }
      return this.#mustGet(pushId);
    });
  }

  get(pushId: string): PushRecord | undefined {
    const row = this.#stmt.get.get(pushId);
    return row ? toRecord(row) : undefined;
  }

  /** The audit trail, oldest first; empty for an unknown push. */
  history(pushId: string): PushHistoryEntry[] {
    return this.#stmt.history.all(pushId).map((row) => ({
      from: row.from_state ?? undefined,
      to: row.to_state,
      at: row.at,
      detail: JSON.parse(row.detail) as TransitionDetail,
    }));
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
      this.#db.prepare('INSERT OR REPLACE INTO write_probe (id, at) VALUES (1, ?)').run(this.#now());
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
        this.#stmt.deleteHistory.run(push_id);
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

  #mustGet(pushId: string): PushRecord {
    const rec = this.get(pushId);
    if (!rec) throw new AgentError(ErrorCodes.PUSH_NOT_FOUND, `no push ${pushId}`, 'push-id');
    return rec;
  }
}

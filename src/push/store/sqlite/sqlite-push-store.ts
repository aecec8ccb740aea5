import BetterSqlite3 from 'better-sqlite3';
import type { Database, Statement } from 'better-sqlite3';
import { AgentError, ErrorCodes } from '../../../errors.js';
import { Outbox } from '../../outbox/outbox.js';
import type { NewOutboxItem } from '../../outbox/outbox-item.js';
import type { NewPushRecord, PushHistoryEntry, PushRecord, TransitionDetail } from '../push-record.js';
import { PUSH_STATES, TERMINAL_STATES, canTransition, type PushState } from '../push-state.js';
import { GroupCommit, type GroupCommitStats } from './group-commit.js';
import { configureConnection, migrate, type SyncMode } from './schema.js';

export interface PushStoreOptions {
  /** The clock for every timestamp the store writes (ms since the epoch). Default `Date.now`. */
  now?: () => number;
  /** WAL sync mode; see {@link SyncMode}. Default FULL. */
  synchronous?: SyncMode;
  /** Group commit: most work items one transaction carries before it is flushed at once. Default 256. */
  maxBatch?: number;
  /** Sees every SQL statement the connection runs (better-sqlite3 `verbose`): tests count `BEGIN`s. */
  onSql?: (sql: string) => void;
}

export interface TransitionOptions {
  /** Compare-and-set guard: refuse unless the push is in one of these states now. */
  expectedFrom?: PushState | readonly PushState[];
  /** POSTs to queue in the same transaction as the state change (hand-back, result notification). */
  outbox?: NewOutboxItem | readonly NewOutboxItem[];
}

interface PushRow {
  push_id: string;
  address: string;
  aor: string | null;
  request_content_type: string;
  request_body: Buffer;
  deliver_after: number | null;
  deliver_before: number | null;
  notify_to: string | null;
  source: 'pap' | 'json';
  submitted_by: string | null;
  state: PushState;
  reason: string | null;
  bearer_hint: string | null;
  sip_status: number | null;
  pap_code: number | null;
  sip_call_id: string | null;
  sip_from_tag: string | null;
  sip_cseq: number | null;
  sip_attempts: number;
  created_at: number;
  updated_at: number;
}

interface HistoryRow {
  from_state: PushState | null;
  to_state: PushState;
  at: number;
  detail: string;
}

const TERMINAL_LIST = [...TERMINAL_STATES].map((s) => `'${s}'`).join(', ');

function toRecord(row: PushRow): PushRecord {
  return {
    pushId: row.push_id,
    address: row.address,
    aor: row.aor ?? undefined,
    requestContentType: row.request_content_type,
    requestBody: row.request_body,
    deliverAfter: row.deliver_after ?? undefined,
    deliverBefore: row.deliver_before ?? undefined,
    notifyTo: row.notify_to ?? undefined,
    source: row.source,
    submittedBy: row.submitted_by ?? undefined,
    state: row.state,
    reason: row.reason ?? undefined,
    bearerHint: row.bearer_hint ?? undefined,
    sipStatus: row.sip_status ?? undefined,
    papCode: row.pap_code ?? undefined,
    messageIdentity:
      row.sip_call_id !== null && row.sip_from_tag !== null
        ? { callId: row.sip_call_id, fromTag: row.sip_from_tag, cseq: row.sip_cseq ?? 1 }
        : undefined,
    sipAttempts: row.sip_attempts,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function isPrimaryKeyViolation(err: unknown): boolean {
  return err instanceof Error && (err as { code?: unknown }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

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
  readonly #stmt: {
    insert: Statement<unknown[]>;
    get: Statement<[string], PushRow>;
    update: Statement<unknown[]>;
    history: Statement<[string], HistoryRow>;
    addHistory: Statement<[string, PushState | null, PushState, number, string]>;
    resumable: Statement<[], PushRow>;
    resumableDue: Statement<[], { push_id: string; state: PushState; deliver_after: number | null }>;
    counts: Statement<[], { state: PushState; n: number }>;
    backlog: Statement<[], { n: number }>;
    prunable: Statement<[number], { push_id: string }>;
    deleteHistory: Statement<[string]>;
    deleteOutbox: Statement<[string]>;
    deletePush: Statement<[string]>;
  };

  private constructor(db: Database, now: () => number, maxBatch: number) {
    this.#db = db;
    this.#now = now;
    this.#batch = new GroupCommit(
      (fn) => db.transaction(fn).immediate(),
      () => db.inTransaction,
      maxBatch,
    );
    this.outbox = new Outbox(db, now);
    const nonTerminal = `state NOT IN (${TERMINAL_LIST})`;
    this.#stmt = {
      insert: db.prepare(
        `INSERT INTO pushes (push_id, address, aor, request_content_type, request_body, deliver_after,
           deliver_before, notify_to, source, submitted_by, state, created_at, updated_at, sip_call_id, sip_from_tag, sip_cseq)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'accepted', ?, ?, ?, ?, ?)`,
      ),
      get: db.prepare('SELECT * FROM pushes WHERE push_id = ?'),
      update: db.prepare(
        `UPDATE pushes SET state = ?, updated_at = ?, reason = COALESCE(?, reason),
           bearer_hint = COALESCE(?, bearer_hint), sip_status = COALESCE(?, sip_status),
           pap_code = COALESCE(?, pap_code), sip_attempts = sip_attempts + ?
         WHERE push_id = ? AND state = ?`,
      ),
      history: db.prepare('SELECT from_state, to_state, at, detail FROM push_history WHERE push_id = ? ORDER BY seq'),
      addHistory: db.prepare('INSERT INTO push_history (push_id, from_state, to_state, at, detail) VALUES (?, ?, ?, ?, ?)'),
      resumable: db.prepare(`SELECT * FROM pushes WHERE ${nonTerminal} ORDER BY created_at, push_id`),
      resumableDue: db.prepare(`SELECT push_id, state, deliver_after FROM pushes WHERE ${nonTerminal} ORDER BY created_at, push_id`),
      counts: db.prepare('SELECT state, COUNT(*) AS n FROM pushes GROUP BY state'),
      backlog: db.prepare(`SELECT COUNT(*) AS n FROM pushes WHERE ${nonTerminal}`),
      // Terminal, older than the retention, and owing the PPG nothing (no undone outbox row).
      prunable: db.prepare(
        `SELECT push_id FROM pushes p WHERE state IN (${TERMINAL_LIST}) AND updated_at < ?
           AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.push_id = p.push_id AND o.done_at IS NULL)`,
      ),
      deleteHistory: db.prepare('DELETE FROM push_history WHERE push_id = ?'),
      deleteOutbox: db.prepare('DELETE FROM outbox WHERE push_id = ?'),
      deletePush: db.prepare('DELETE FROM pushes WHERE push_id = ?'),
    };
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
        this.#stmt.insert.run(
          rec.pushId,
          rec.address,
          rec.aor ?? null,
          rec.requestContentType,
          rec.requestBody,
          rec.deliverAfter ?? null,
          rec.deliverBefore ?? null,
          rec.notifyTo ?? null,
          rec.source ?? 'pap',
          rec.submittedBy ?? null,
          now,
          now,
          rec.messageIdentity?.callId ?? null,
          rec.messageIdentity?.fromTag ?? null,
          rec.messageIdentity?.cseq ?? null,
        );
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
   * an edge {@link canTransition} forbids or a failed `expectedFrom` guard.
   */
  transition(pushId: string, to: PushState, detail: TransitionDetail = {}, opts: TransitionOptions = {}): PushRecord {
    return this.runInTransaction(() => {
      const from = this.#mustGet(pushId).state;
      const expected = opts.expectedFrom === undefined ? undefined : [opts.expectedFrom].flat();
      if (expected && !expected.includes(from)) {
        throw new AgentError(ErrorCodes.PUSH_STATE_CONFLICT, `push ${pushId} is ${from}, expected ${expected.join('|')}`, 'state');
      }
      if (!canTransition(from, to)) {
        throw new AgentError(ErrorCodes.PUSH_STATE_CONFLICT, `push ${pushId}: ${from} → ${to} is not allowed`, 'state');
      }
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

/** What the store's group commit has done so far (for tests, metrics and the benchmarks). */
export interface GroupCommitStats {
  /** Transactions committed by the batcher (its own flushes plus the ones it joined; see below). */
  flushes: number;
  /** Work items committed or refused inside those transactions. */
  items: number;
  /** The most items one transaction carried. */
  largestBatch: number;
  /** Items queued now, not yet committed. */
  pending: number;
}

/** Runs `fn` in a transaction: top-level BEGIN IMMEDIATE … COMMIT, or a SAVEPOINT when one is open. */
export type TransactionRunner = <T>(fn: () => T) => T;

/**
 * How an item may fail. `savepoint`: anything (it runs in a SAVEPOINT of its own and rolls back alone).
 * `refuses-before-writing`: the item's only expected failure is a refusal it makes before its first write
 * succeeds (a compare-and-set that matched no row, a primary-key violation SQLite rolled back as a statement),
 * so it needs no savepoint; the store's insert and transition are built that way. `one-write`: the same,
 * and it writes with a single statement (atomic and, at FULL, durable on its own) or inside a transaction
 * it opens itself: alone in a batch it runs without BEGIN/COMMIT — SQLite commits the statement as it
 * returns, with the same one fsync.
 */
export type ItemKind = 'savepoint' | 'refuses-before-writing' | 'one-write';

export interface GroupCommitOptions {
  /** Runs a function in a transaction (cached wrapper; nested calls become savepoints). */
  tx: TransactionRunner;
  inTransaction: () => boolean;
  /** Most items one transaction carries; a full queue is flushed at once. */
  maxBatch: number;
  /** How long the first queued item waits for others to share its commit; 0: the next `setImmediate`. */
  windowMs: number;
  /** True for the refusals a `refuses-before-writing` item makes before writing (anything else aborts). */
  isRefusal: (err: unknown) => boolean;
}

interface Item {
  work: () => unknown;
  kind: ItemKind;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; err: unknown };

/** Thrown inside the batch transaction to roll it back: an item without a savepoint failed unexpectedly. */
class AbortBatch {
  constructor(
    readonly index: number,
    readonly err: unknown,
  ) {}
}

/**
 * Group commit: many small durable writes share one transaction, hence one WAL fsync at
 * `synchronous=FULL`. Work queued with {@link GroupCommit.enqueue} waits up to `windowMs` for company (or
 * runs at once when `maxBatch` items are waiting), then all of it commits together. Promises settle only
 * after the COMMIT returned: a resolved promise means the write is on disk; a crash before that loses
 * exactly the writes whose promises never resolved.
 *
 * A failing item rejects only its own promise. Items of kind `savepoint` get a SAVEPOINT each; items that
 * refuse before writing need none (two statements fewer each). Should such an item fail with anything
 * but its refusal (a storage error, a defect), part of it may be written: the whole transaction rolls
 * back, that item is rejected, and the others run again, each in a savepoint.
 */
export class GroupCommit {
  readonly #o: GroupCommitOptions;
  #queue: Item[] = [];
  #scheduled: { cancel: () => void } | undefined;
  readonly #stats = { flushes: 0, items: 0, largestBatch: 0 };

  constructor(options: GroupCommitOptions) {
    if (!(options.maxBatch >= 1)) throw new RangeError('GroupCommit: maxBatch must be ≥ 1');
    if (!(options.windowMs >= 0)) throw new RangeError('GroupCommit: windowMs must be ≥ 0');
    this.#o = options;
  }

  get pending(): number {
    return this.#queue.length;
  }

  stats(): GroupCommitStats {
    return { ...this.#stats, pending: this.#queue.length };
  }

  /** Queues `work` (synchronous; it runs inside the batch transaction) and resolves with its result. */
  enqueue<T>(work: () => T, kind: ItemKind = 'savepoint'): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ work, kind, resolve: resolve as (value: unknown) => void, reject });
      if (this.#queue.length >= this.#o.maxBatch && !this.#o.inTransaction()) this.flush();
      else this.#schedule();
    });
  }

  /**
   * Commits everything queued now in one transaction; with `extra`, runs it last in the same
   * transaction (in its own savepoint) and returns its result or rethrows its error — the queued items
   * commit either way. Must not be called inside an open transaction (the COMMIT would not be ours).
   */
  flush<T>(extra?: () => T): T | undefined {
    if (this.#o.inTransaction()) throw new Error('GroupCommit.flush inside an open transaction');
    this.#scheduled?.cancel();
    this.#scheduled = undefined;
    let items = this.#queue;
    this.#queue = [];
    if (items.length === 1 && !extra && items[0]?.kind === 'one-write') return this.#alone(items[0]) as undefined;
    let outcomes: Outcome[];
    let extraOutcome: Outcome | undefined;
    try {
      try {
        [outcomes, extraOutcome] = this.#commit(items, extra, false);
      } catch (err) {
        if (!(err instanceof AbortBatch)) throw err;
        // Rolled back: the item that failed mid-way is rejected, the others run again, each in a savepoint.
        items[err.index]?.reject(err.err);
        items = items.filter((_, i) => i !== err.index);
        [outcomes, extraOutcome] = this.#commit(items, extra, true);
      }
    } catch (err) {
      // The COMMIT (or BEGIN) itself failed: nothing of this batch is durable.
      for (const item of items) item.reject(err);
      throw err;
    }
    this.#stats.flushes += 1;
    this.#stats.items += items.length;
    this.#stats.largestBatch = Math.max(this.#stats.largestBatch, items.length);
    items.forEach((item, i) => {
      const outcome = outcomes[i] as Outcome;
      if (outcome.ok) item.resolve(outcome.value);
      else item.reject(outcome.err);
    });
    if (extraOutcome && !extraOutcome.ok) throw extraOutcome.err;
    return extraOutcome?.ok ? (extraOutcome.value as T) : undefined;
  }

  /** A one-write item alone: its statement commits by itself (autocommit), so no BEGIN/COMMIT around it. */
  #alone(item: Item): undefined {
    let outcome: Outcome;
    try {
      outcome = { ok: true, value: item.work() };
    } catch (err) {
      outcome = { ok: false, err }; // the statement failed whole: nothing of it was written
    }
    this.#stats.flushes += 1;
    this.#stats.items += 1;
    this.#stats.largestBatch = Math.max(this.#stats.largestBatch, 1);
    if (outcome.ok) item.resolve(outcome.value);
    else item.reject(outcome.err);
    return undefined;
  }

  #commit(items: Item[], extra: (() => unknown) | undefined, allSavepoints: boolean): [Outcome[], Outcome | undefined] {
    const outcomes: Outcome[] = [];
    let extraOutcome: Outcome | undefined;
    this.#o.tx(() => {
      items.forEach((item, i) => {
        outcomes.push(allSavepoints || item.kind === 'savepoint' ? this.#inSavepoint(item.work) : this.#direct(item.work, i));
      });
      if (extra) extraOutcome = this.#inSavepoint(extra);
    });
    return [outcomes, extraOutcome];
  }

  #direct(work: () => unknown, index: number): Outcome {
    try {
      return { ok: true, value: work() };
    } catch (err) {
      if (this.#o.isRefusal(err)) return { ok: false, err };
      throw new AbortBatch(index, err);
    }
  }

  #inSavepoint(work: () => unknown): Outcome {
    try {
      return { ok: true, value: this.#o.tx(work) }; // nested: a SAVEPOINT, rolled back alone on throw
    } catch (err) {
      return { ok: false, err };
    }
  }

  #schedule(): void {
    if (this.#scheduled) return;
    const fire = () => {
      this.#scheduled = undefined;
      if (this.#queue.length === 0) return;
      if (this.#o.inTransaction()) return this.#schedule();
      try {
        this.flush();
      } catch {
        // Already delivered to every item's promise.
      }
    };
    if (this.#o.windowMs > 0) {
      const timer = setTimeout(fire, this.#o.windowMs);
      this.#scheduled = { cancel: () => clearTimeout(timer) };
    } else {
      const immediate = setImmediate(fire);
      this.#scheduled = { cancel: () => clearImmediate(immediate) };
    }
  }
}

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

interface Item {
  work: () => unknown;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; err: unknown };

/**
 * Group commit: many small durable writes share one transaction, hence one WAL fsync at
 * `synchronous=FULL`. Work queued with {@link GroupCommit.enqueue} runs on the next `setImmediate`
 * (or at once when `maxBatch` items are waiting), each item in its own SAVEPOINT, so a failing item
 * (a duplicate push-id, an illegal transition) rolls back alone and rejects only its own promise.
 * Promises settle only after the COMMIT returned: a resolved promise means the write is on disk; a crash
 * before that loses exactly the writes whose promises never resolved.
 */
export class GroupCommit {
  readonly #tx: TransactionRunner;
  readonly #inTransaction: () => boolean;
  readonly #maxBatch: number;
  #queue: Item[] = [];
  #scheduled: NodeJS.Immediate | undefined;
  readonly #stats = { flushes: 0, items: 0, largestBatch: 0 };

  constructor(tx: TransactionRunner, inTransaction: () => boolean, maxBatch: number) {
    if (!(maxBatch >= 1)) throw new RangeError('GroupCommit: maxBatch must be ≥ 1');
    this.#tx = tx;
    this.#inTransaction = inTransaction;
    this.#maxBatch = maxBatch;
  }

  get pending(): number {
    return this.#queue.length;
  }

  stats(): GroupCommitStats {
    return { ...this.#stats, pending: this.#queue.length };
  }

  /** Queues `work` (synchronous; it runs inside the batch transaction) and resolves with its result. */
  enqueue<T>(work: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
      if (this.#queue.length >= this.#maxBatch && !this.#inTransaction()) this.flush();
      else this.#schedule();
    });
  }

  /**
   * Commits everything queued now in one transaction; with `extra`, runs it last in the same
   * transaction (in its own savepoint) and returns its result or rethrows its error — the queued items
   * commit either way. Must not be called inside an open transaction (the COMMIT would not be ours).
   */
  flush<T>(extra?: () => T): T | undefined {
    if (this.#inTransaction()) throw new Error('GroupCommit.flush inside an open transaction');
    if (this.#scheduled) clearImmediate(this.#scheduled);
    this.#scheduled = undefined;
    const items = this.#queue;
    this.#queue = [];
    const outcomes: Outcome[] = [];
    let extraOutcome: Outcome | undefined;
    try {
      this.#tx(() => {
        for (const item of items) outcomes.push(this.#attempt(item.work));
        if (extra) extraOutcome = this.#attempt(extra);
      });
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

  #attempt(work: () => unknown): Outcome {
    try {
      return { ok: true, value: this.#tx(work) }; // nested: a SAVEPOINT, rolled back alone on throw
    } catch (err) {
      return { ok: false, err };
    }
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = setImmediate(() => {
      this.#scheduled = undefined;
      if (this.#queue.length === 0) return;
      if (this.#inTransaction()) return this.#schedule();
      try {
        this.flush();
      } catch {
        // Already delivered to every item's promise.
      }
    });
  }
}

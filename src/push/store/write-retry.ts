/**
 * Outcome writes that must not be lost when the disk is full or failing (the store's STORE_UNWRITABLE):
 * a MESSAGE that got its 200 must end `delivered` on disk, or a restart would send it again.
 *
 * {@link WriteRetry.run} tries a write; on a storage error it marks the store unwritable and retries
 * the write with backoff until it commits. While the store is unwritable every write queues behind the
 * earlier ones (FIFO: they commit in the order they were asked for). Memory stays bounded because each
 * caller awaits its own write: the push service holds one per delivery slot (`limits.maxInFlight`).
 * With nothing queued, a probe write (every `probeMs`) finds out when space is back, so readiness and
 * intake recover without a restart.
 */
import type { Logger } from 'pino';
import { AgentError, ErrorCodes } from '../../errors.js';

/** The store port's "the storage failed" (not "this write is wrong"): STORE_UNWRITABLE. */
export function isStorageError(err: unknown): boolean {
  return err instanceof AgentError && err.code === ErrorCodes.STORE_UNWRITABLE;
}

export interface WriteRetryOptions {
  /** A small write that commits (and so needs disk space); succeeds once the store can write again. */
  probe: () => Promise<void>;
  logger: Logger;
  /** First retry delay; doubles up to `maxDelayMs`. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** How often the probe runs while unwritable and no write is queued. */
  probeMs?: number;
}

export class WriteRetry {
  #writable = true;
  #queued = 0;
  #tail: Promise<unknown> = Promise.resolve();
  #probeTimer: NodeJS.Timeout | undefined;
  readonly #options: Required<Omit<WriteRetryOptions, 'logger' | 'probe'>> & Pick<WriteRetryOptions, 'logger' | 'probe'>;

  constructor(options: WriteRetryOptions) {
    this.#options = { baseDelayMs: 100, maxDelayMs: 2000, probeMs: 1000, ...options };
  }

  /** False from a storage failure until a write (or the probe) commits again. */
  get writable(): boolean {
    return this.#writable;
  }

  /** Writes waiting for the store to accept them. */
  get queued(): number {
    return this.#queued;
  }

  /** Runs `write` until it commits; rethrows at once any error that is not a storage failure. */
  async run<T>(write: () => Promise<T>): Promise<T> {
    if (this.#writable && this.#queued === 0) {
      try {
        return await write();
      } catch (err) {
        if (!isStorageError(err)) throw err;
        this.noteFailure(err);
      }
    }
    this.#queued += 1;
    const mine = this.#tail.then(() => this.#retry(write));
    this.#tail = mine.catch(() => undefined);
    try {
      return await mine;
    } finally {
      this.#queued -= 1;
    }
  }

  /** A write outside {@link run} failed (e.g. an intake insert): start probing for recovery. */
  noteFailure(err: unknown): void {
    if (!isStorageError(err)) return;
    if (this.#writable)
      this.#options.logger.error({ err }, 'push store cannot write: outcomes are held and retried, intake refused (4001)');
    this.#writable = false;
    this.#startProbe();
  }

  /** Stops the probe (shutdown). Queued writes keep retrying until their callers stop waiting. */
  stop(): void {
    if (this.#probeTimer) clearInterval(this.#probeTimer);
    this.#probeTimer = undefined;
  }

  async #retry<T>(write: () => Promise<T>): Promise<T> {
    let delay = this.#options.baseDelayMs;
    for (;;) {
      try {
        const result = await write();
        this.#recovered();
        return result;
      } catch (err) {
        if (!isStorageError(err)) throw err;
        this.noteFailure(err);
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, this.#options.maxDelayMs);
    }
  }

  #startProbe(): void {
    if (this.#probeTimer) return;
    let probing = false;
    this.#probeTimer = setInterval(() => {
      if (this.#queued > 0 || probing) return; // the queued writes are the probe
      probing = true;
      this.#options
        .probe()
        .then(
          () => this.#recovered(),
          (err: unknown) => {
            if (!isStorageError(err)) this.#options.logger.warn({ err }, 'store probe failed');
          },
        )
        .finally(() => {
          probing = false;
        });
    }, this.#options.probeMs);
    this.#probeTimer.unref();
  }

  #recovered(): void {
    if (this.#writable) return;
    this.#writable = true;
    this.stop();
    this.#options.logger.info('push store writes again');
  }
}

import type { Logger } from '../../ops/logger.js';
import type { PushStore } from '../store/push-store.js';
import { backoffDelay, type BackoffPolicy } from './backoff.js';
import type { OutboxItem } from './outbox-item.js';

/** What the PPG answered, as the verdict hook sees it. */
export interface OutboxResponse {
  status: number;
  /** At most `maxResponseBytes` of the body. */
  body: Buffer;
}

export type OutboxVerdict = 'acknowledged' | 'retry';

export interface OutboxDispatcherOptions {
  store: PushStore;
  logger: Logger;
  /** Default: Node 20's global `fetch`. */
  fetchImpl?: typeof fetch;
  backoff: BackoffPolicy;
  /** POSTs in flight at once (≥ 1). */
  concurrency: number;
  /** Per POST, including reading the answer. A timeout counts as a failed attempt. */
  requestTimeoutMs: number;
  /**
   * Called synchronously inside the transaction that marks the item done, so a state change made here
   * (the pipeline moves `handing-back → handed-back`) commits together with the acknowledgement. If it
   * throws, the acknowledgement is still recorded (the PPG has the item; re-POSTing would duplicate it)
   * and the error is logged; the push stays non-terminal and shows in `listResumable()`.
   */
  onAcknowledged: (item: OutboxItem) => void;
  /**
   * Default: retry forever. When set, an item still unacknowledged this long after it was queued is
   * parked after its next failure: logged at error level, kept in the table (never dropped), not sent
   * again until `store.outbox.requeue(id)`; `store.outbox.stats().parked` counts them.
   */
  maxAgeMs?: number;
  /** Longest sleep between looks at the table (items queued without `kick()`). Default 1000. */
  pollIntervalMs?: number;
  /** Bound for `stop()` to wait for aborted POSTs to settle. Default 2000. */
  stopTimeoutMs?: number;
  /** Default: any 2xx is an acknowledgement. A PAP-aware caller can read the PAP code from the body. */
  judgeResponse?: (item: OutboxItem, response: OutboxResponse) => OutboxVerdict;
  maxResponseBytes?: number;
  now?: () => number;
  random?: () => number;
}

const STOPPING = Symbol('outbox dispatcher stopping');

/** Logs a URL without userinfo or query (they may carry credentials). */
function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(invalid url)';
  }
}

async function readBounded(res: Response, limit: number): Promise<Buffer> {
  if (!res.body) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let size = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(Buffer.from(value));
    size += value.byteLength;
    if (size >= limit) {
      await reader.cancel();
      break;
    }
  }
  return Buffer.concat(chunks).subarray(0, limit);
}

/**
 * Sends the outbox to the PPG: picks due items, POSTs each byte-exact, marks it done on acknowledgement,
 * and otherwise reschedules it with exponential backoff and jitter. Delivery is at-least-once: after a
 * crash or `stop()` mid-POST the item is sent again. Items are claimed in memory, so exactly one
 * dispatcher may run per database file.
 */
export class OutboxDispatcher {
  readonly #o: OutboxDispatcherOptions;
  readonly #log: Logger;
  readonly #fetch: typeof fetch;
  readonly #now: () => number;
  readonly #inflight = new Map<number, Promise<void>>();
  readonly #aborts = new Set<AbortController>();
  #timer: NodeJS.Timeout | undefined;
  #running = false;

  constructor(options: OutboxDispatcherOptions) {
    if (options.concurrency < 1) throw new RangeError('OutboxDispatcher: concurrency must be ≥ 1');
    this.#o = options;
    this.#log = options.logger.child({ component: 'outbox' });
    this.#fetch = options.fetchImpl ?? fetch;
    this.#now = options.now ?? Date.now;
  }

  /** Starts sending; items already due (e.g. left over from before a restart) go at once. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#schedule(0);
  }

  /** Look at the table now (call after queuing something). */
  kick(): void {
    if (this.#running) this.#schedule(0);
  }

  /** Stops sending; aborts POSTs in flight (they stay due) and waits at most `stopTimeoutMs`. */
  async stop(): Promise<void> {
    this.#running = false;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const ac of this.#aborts) ac.abort(STOPPING);
    let bound: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.#inflight.values()]),
      new Promise<void>((resolve) => { bound = setTimeout(resolve, this.#o.stopTimeoutMs ?? 2000); }),
    ]);
    clearTimeout(bound);
  }

  /** POSTs in flight now. */
  inflight(): number {
    return this.#inflight.size;
  }

  #schedule(delayMs: number): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#tick(), delayMs);
    this.#timer.unref();
  }

  #tick(): void {
    this.#timer = undefined;
    if (!this.#running) return;
    const outbox = this.#o.store.outbox;
    let nextDue: number | undefined;
    try {
      const free = this.#o.concurrency - this.#inflight.size;
      if (free > 0) {
        for (const item of outbox.due(this.#now(), free, this.#inflight)) this.#launch(item);
      }
      nextDue = outbox.nextDueAt(this.#inflight);
    } catch (err) {
      this.#log.error({ err }, 'outbox: reading the table failed; will look again');
    }
    if (this.#inflight.size >= this.#o.concurrency) return; // a finishing POST ticks again
    const poll = this.#o.pollIntervalMs ?? 1000;
    const wait = nextDue === undefined ? poll : Math.min(Math.max(nextDue - this.#now(), 0), poll);
    this.#schedule(wait);
  }

  #launch(item: OutboxItem): void {
    const done = this.#attempt(item).finally(() => {
      this.#inflight.delete(item.id);
      this.kick();
    });
    this.#inflight.set(item.id, done);
  }

  async #attempt(item: OutboxItem): Promise<void> {
    const ac = new AbortController();
    this.#aborts.add(ac);
    const timer = setTimeout(() => ac.abort(new Error(`timed out after ${this.#o.requestTimeoutMs} ms`)),
      this.#o.requestTimeoutMs);
    let response: OutboxResponse;
    try {
      const res = await this.#fetch(item.url, {
        method: 'POST',
        headers: { ...item.headers, 'content-type': item.contentType },
        body: item.body,
        signal: ac.signal,
      });
      response = { status: res.status, body: await readBounded(res, this.#o.maxResponseBytes ?? 65536) };
    } catch (err) {
      if (ac.signal.reason === STOPPING) return; // left due; sent again after start()
      const reason = ac.signal.aborted ? ac.signal.reason : err;
      return this.#failed(item, reason instanceof Error ? reason.message : String(reason));
    } finally {
      clearTimeout(timer);
      this.#aborts.delete(ac);
    }
    const verdict = this.#o.judgeResponse
      ? this.#o.judgeResponse(item, response)
      : response.status >= 200 && response.status < 300 ? 'acknowledged' : 'retry';
    if (verdict === 'acknowledged') return this.#acknowledged(item, response.status);
    else this.#failed(item, `HTTP ${response.status}`);
  }

  async #acknowledged(item: OutboxItem, status: number): Promise<void> {
    const { store, onAcknowledged } = this.#o;
    const log = this.#log.child({ outboxId: item.id, pushId: item.pushId, kind: item.kind });
    try {
      await store.runDurable(() => {
        if (!store.outbox.markAcknowledged(item.id)) return;
        onAcknowledged(store.outbox.get(item.id) as OutboxItem);
      });
      log.debug({ status, attempts: item.attempts + 1 }, 'outbox: PPG acknowledged');
    } catch (err) {
      log.error({ err }, 'outbox: onAcknowledged failed; recording the acknowledgement without it');
      try {
        store.outbox.markAcknowledged(item.id);
      } catch (err2) {
        log.error({ err: err2 }, 'outbox: could not record the acknowledgement; the item will be re-sent');
      }
    }
  }

  #failed(item: OutboxItem, error: string): void {
    const attempts = item.attempts + 1;
    const now = this.#now();
    const ageMs = now - item.createdAt;
    const log = this.#log.child({ outboxId: item.id, pushId: item.pushId, kind: item.kind });
    try {
      if (this.#o.maxAgeMs !== undefined && ageMs >= this.#o.maxAgeMs) {
        this.#o.store.outbox.park(item.id, error);
        log.error({ url: safeUrl(item.url), attempts, ageMs, error },
          'outbox: PPG never acknowledged within maxAgeMs; PARKED (kept, not sent) until an operator requeues it');
        return;
      }
      const delay = backoffDelay(this.#o.backoff, attempts, this.#o.random);
      this.#o.store.outbox.recordFailure(item.id, error, now + delay);
      log.warn({ url: safeUrl(item.url), attempts, retryInMs: delay, error }, 'outbox: POST failed; will retry');
    } catch (err) {
      log.error({ err }, 'outbox: could not record the failed attempt; the item stays due');
    }
  }
}

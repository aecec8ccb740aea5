/**
 * The outbox dispatcher loop (lanes, launching due POSTs, judging answers, retry with backoff). Its
 * types are in outbox-dispatcher-options.ts (re-exported here); endings are in outbox-settlement.ts.
 */
import { countInternalError } from '../../lib/internal-errors.js';
import type { Logger } from '../../lib/logger.js';
import { judgePpgAnswer } from '../pap/ppg-answer.js';
import { backoffDelay } from '../../lib/backoff.js';
import { DueQueue } from './due-queue.js';
import type { OutboxDispatcherOptions, OutboxDispatcherStats } from './outbox-dispatcher-options.js';
import type { OutboxItem, OutboxKind } from './outbox-item.js';
import { OutboxSettler } from './outbox-settlement.js';
import { PpgHttpClient, UnbuildableRequestError, type PpgHttpAnswer } from './ppg-http-client.js';
import { safeUrl, scrubSecrets } from './scrub.js';

export type { GiveUpRule, OutboxDispatcherOptions, OutboxDispatcherStats, OutboxSettlement } from './outbox-dispatcher-options.js';

const STOPPING = Symbol('outbox dispatcher stopping');
const KINDS: readonly OutboxKind[] = ['hand-back', 'result-notification'];

/**
 * Sends the outbox: keeps pending items in memory per lane (earliest due first), POSTs each due one
 * byte-exact, judges the PAP answer, and ends the item (acknowledged / refused / given up) or
 * reschedules it with exponential backoff and jitter. New items come from the outbox's stage after
 * their transaction committed (`kick()`), not from polling the table; the table is read at start and
 * when memory was full. Delivery is at-least-once: after a crash or `stop()` mid-POST the item is sent
 * again (the PPG must treat a repeated push-id as the same push). Items are claimed in memory, so
 * exactly one dispatcher may run per database file.
 */
export class OutboxDispatcher {
  readonly #o: OutboxDispatcherOptions;
  readonly #log: Logger;
  readonly #client: PpgHttpClient;
  readonly #ownClient: boolean;
  readonly #now: () => number;
  readonly #lanes: Record<OutboxKind, number>;
  readonly #queues: Record<OutboxKind, DueQueue<OutboxItem>> = {
    'hand-back': new DueQueue(),
    'result-notification': new DueQueue(),
  };
  readonly #inflight = new Map<number, { kind: OutboxKind; done: Promise<void> }>();
  /** Ends items once answered; see {@link OutboxSettler}. */
  readonly #settler: OutboxSettler;
  readonly #maxInMemory: number;
  #stopper = new AbortController();
  #timer: NodeJS.Timeout | undefined;
  #lookSoon = false;
  #running = false;
  /** Some pending items are in the table only: read them as room frees up. */
  #spilled = true;

  constructor(options: OutboxDispatcherOptions) {
    const lanes =
      typeof options.concurrency === 'number'
        ? { 'hand-back': options.concurrency, 'result-notification': options.concurrency }
        : options.concurrency;
    if (KINDS.some((kind) => !(lanes[kind] >= 1))) throw new RangeError('OutboxDispatcher: concurrency must be ≥ 1');
    this.#o = options;
    this.#lanes = lanes;
    this.#maxInMemory = Math.max(1, options.maxInMemory ?? 10_000);
    this.#log = options.logger.child({ component: 'outbox' });
    this.#ownClient = options.client === undefined;
    this.#client =
      options.client ??
      new PpgHttpClient({
        userAgent: options.userAgent ?? 'sip-push-agent',
        maxSocketsPerOrigin: Math.max(lanes['hand-back'], lanes['result-notification']),
        requestTimeoutMs: options.requestTimeoutMs,
      });
    this.#now = options.now ?? Date.now;
    this.#settler = new OutboxSettler(options, this.#log, this.#now, {
      inflight: this.#inflight,
      running: () => this.#running,
      pump: () => this.#pump(),
    });
  }

  /** Starts sending; items already pending (e.g. left over from before a restart) are read from the table. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#spilled = true;
    this.#stopper = new AbortController();
    PpgHttpClient.sharedSignal(this.#stopper);
    this.#look();
  }

  /** Something was queued (and committed): take it now. Coalesced: many kicks in one turn, one look. */
  kick(): void {
    if (!this.#running || this.#lookSoon) return;
    this.#lookSoon = true;
    setImmediate(() => {
      this.#lookSoon = false;
      this.#look();
    });
  }

  /** Stops sending; aborts POSTs in flight (they stay due) and waits at most `stopTimeoutMs`. */
  async stop(): Promise<void> {
    this.#running = false;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#settler.cancelAll(); // still pending in the table: sent again after a start
    this.#stopper.abort(STOPPING);
    let bound: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.#inflight.values()].map((entry) => entry.done)),
      new Promise<void>((resolve) => {
        bound = setTimeout(resolve, this.#o.stopTimeoutMs ?? 2000);
      }),
    ]);
    clearTimeout(bound);
    for (const kind of KINDS) for (const id of [...this.#queues[kind].ids()]) this.#queues[kind].remove(id);
    if (this.#ownClient) this.#client.close();
  }

  /** POSTs in flight now (of one lane, or all). */
  inflight(kind?: OutboxKind): number {
    if (kind === undefined) return this.#inflight.size;
    let n = 0;
    for (const entry of this.#inflight.values()) if (entry.kind === kind) n += 1;
    return n;
  }

  stats(): OutboxDispatcherStats {
    return { ...this.#settler.stats(), inMemory: this.#held(), spilled: this.#spilled };
  }

  #held(): number {
    return this.#queues['hand-back'].size + this.#queues['result-notification'].size;
  }

  /** Holds `item` in memory if there is room; otherwise it waits in the table (read back later). */
  #hold(item: OutboxItem): void {
    const queue = this.#queues[item.kind];
    if (queue.has(item.id) || this.#held() < this.#maxInMemory) queue.add(item);
    else this.#spilled = true;
  }

  /** Takes committed new items, reads the table if items wait there only, sends what is due. */
  #look(): void {
    if (!this.#running) return;
    const outbox = this.#o.store.outbox;
    try {
      const staged = outbox.takeStaged();
      if (staged === undefined) {
        this.kick(); // a transaction is open: its items are not committed yet
        return;
      }
      for (const id of staged.parked) for (const kind of KINDS) this.#queues[kind].remove(id);
      if (staged.overflowed) this.#spilled = true;
      for (const item of staged.items) if (!this.#inflight.has(item.id)) this.#hold(item);
      if (this.#spilled && this.#held() < this.#maxInMemory) {
        const skip = new Set<number>([...this.#inflight.keys()]);
        for (const kind of KINDS) for (const id of this.#queues[kind].ids()) skip.add(id);
        const { items, complete } = outbox.pending(this.#maxInMemory - this.#held(), skip);
        for (const item of items) this.#hold(item);
        this.#spilled = !complete;
      }
    } catch (err) {
      countInternalError('outbox.read', err);
      this.#log.error({ err }, 'outbox: reading queued items failed; will look again');
    }
    this.#pump();
  }

  /** Launches every due item a lane has room for; sleeps until the next one falls due (or a poll). */
  #pump(): void {
    if (!this.#running) return;
    const now = this.#now();
    let wake = now + (this.#o.pollIntervalMs ?? 1000);
    for (const kind of KINDS) {
      const queue = this.#queues[kind];
      while (this.inflight(kind) < this.#lanes[kind]) {
        const next = queue.peek();
        if (next === undefined) break;
        if (next.nextAttemptAt > now) {
          wake = Math.min(wake, next.nextAttemptAt);
          break;
        }
        queue.pop();
        this.#launch(next);
      }
    }
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#look(), Math.max(0, wake - now));
    this.#timer.unref();
  }

  #launch(item: OutboxItem): void {
    const done = this.#attempt(item).finally(() => {
      if (!this.#settler.isSettling(item.id)) this.#inflight.delete(item.id);
      if (this.#spilled) this.#look();
      else this.#pump();
    });
    this.#inflight.set(item.id, { kind: item.kind, done });
  }

  async #attempt(item: OutboxItem): Promise<void> {
    let response: PpgHttpAnswer;
    try {
      response = await this.#client.send(item.url, item.contentType, item.body, item.headers, {
        timeoutMs: this.#o.requestTimeoutMs,
        maxBytes: this.#o.maxResponseBytes ?? 65536,
        signal: this.#stopper.signal,
      });
    } catch (err) {
      if (this.#stopper.signal.aborted) return; // left due; sent again after start()
      if (err instanceof UnbuildableRequestError) {
        return this.#settler.settle(item, { outcome: 'gave-up', error: `request cannot be built: ${scrubSecrets(err.message)}` });
      }
      return this.#failed(item, err instanceof Error ? err.message : String(err));
    }
    const answer = {
      status: response.status,
      body: response.body,
      ...(response.contentType !== undefined ? { contentType: response.contentType } : {}),
    };
    const verdict = this.#o.judgeResponse
      ? this.#o.judgeResponse(item, answer)
      : judgePpgAnswer(item.kind, item.pushId, item.attempts, answer);
    switch (verdict.verdict) {
      case 'acknowledged':
        return this.#settler.settle(item, { outcome: 'acknowledged', code: verdict.code, desc: verdict.desc });
      case 'refused':
        return this.#settler.settle(item, { outcome: 'refused', code: verdict.code, desc: verdict.desc });
      case 'retry':
        return this.#failed(item, verdict.error);
    }
  }

  async #failed(item: OutboxItem, rawError: string): Promise<void> {
    const error = scrubSecrets(rawError);
    const attempts = item.attempts + 1;
    const now = this.#now();
    const ageMs = now - item.createdAt;
    const { maxAgeMs, maxAttempts } = this.#o.giveUp ?? {};
    if ((maxAttempts !== undefined && attempts >= maxAttempts) || (maxAgeMs !== undefined && ageMs >= maxAgeMs)) {
      const why = maxAttempts !== undefined && attempts >= maxAttempts ? `${attempts} attempts` : `${Math.round(ageMs / 1000)} s`;
      return this.#settler.settle(item, { outcome: 'gave-up', error: `no acknowledgement after ${why} (last: ${error})` });
    }
    const log = this.#log.child({ outboxId: item.id, pushId: item.pushId, kind: item.kind });
    const delay = backoffDelay(this.#o.backoff, attempts, this.#o.random);
    const at = this.#now() + delay; // read right before the write: the delay is what the row says
    try {
      this.#o.store.outbox.recordFailure(item.id, error, at);
      log.warn({ url: safeUrl(item.url), attempts, retryInMs: delay, error }, 'outbox: POST failed; will retry');
    } catch (err) {
      log.error({ err }, 'outbox: could not record the failed attempt; the item stays due');
    }
    this.#hold({ ...item, attempts, lastError: error, nextAttemptAt: at });
  }
}

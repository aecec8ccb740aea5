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

export type {
  GiveUpRule,
  OutboxDispatcherOptions,
  OutboxDispatcherStats,
  OutboxReaction,
  OutboxSettlement,
} from './outbox-dispatcher-options.js';

const STOPPING = Symbol('outbox dispatcher stopping');
const KINDS: readonly OutboxKind[] = ['hand-back', 'result-notification'];

/**
 * Sends the outbox: keeps pending items in memory per lane (earliest due first), POSTs each due one
 * byte-exact, judges the PAP answer, and ends the item (acknowledged / refused / given up) or
 * reschedules it with exponential backoff and jitter. It sees the store only through its
 * {@link OutboxPort} (SQLite or PostgreSQL). New items come from the port after their transaction
 * committed (`kick()`), not from polling the table; the table is read at start, when memory was full,
 * and when asked to (`rescan()`). Delivery is at-least-once: after a crash or `stop()` mid-POST the item
 * is sent again (the PPG must treat a repeated push-id as the same push). Items are claimed in memory,
 * so exactly one dispatcher may run per outbox owner (the SQLite file, or the PostgreSQL lease owner).
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
  /** Bumped whenever the table may hold items memory does not (a spill, a rescan): a read that began before it is not complete. */
  #tableEpoch = 0;
  /** Bumped by every start and stop: a read that began before it is dropped. */
  #generation = 0;
  /** A look (reading the port) is under way; looks never overlap. */
  #looking = false;
  #lookAgain = false;

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
    this.#settler = new OutboxSettler(options, this.#log, {
      inflight: this.#inflight,
      running: () => this.#running,
      pump: () => this.#pump(),
      kick: () => this.kick(),
    });
  }

  /** Starts sending; items already pending (e.g. left over from before a restart) are read from the table. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#generation += 1;
    this.#spilled = true;
    this.#tableEpoch += 1;
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

  /**
   * Reads the table again now, not only new items: pending items this agent may send that it does not
   * hold yet — in cluster mode, the outbox items it just took over from an agent whose lease lapsed.
   */
  rescan(): void {
    if (!this.#running) return;
    this.#spilled = true;
    this.#tableEpoch += 1;
    this.#look();
  }

  /** Stops sending; aborts POSTs in flight (they stay due) and waits at most `stopTimeoutMs`. */
  async stop(): Promise<void> {
    this.#running = false;
    this.#generation += 1;
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
    else {
      this.#spilled = true;
      this.#tableEpoch += 1;
    }
  }

  /** Takes committed new items, reads the table if items wait there only, sends what is due. One at a time. */
  #look(): void {
    if (!this.#running) return;
    if (this.#looking) {
      this.#lookAgain = true;
      return;
    }
    this.#looking = true;
    void this.#read().finally(() => {
      this.#looking = false;
      if (this.#lookAgain) {
        this.#lookAgain = false;
        this.#look();
      } else this.#pump();
    });
  }

  async #read(): Promise<void> {
    const { outbox } = this.#o;
    const generation = this.#generation;
    try {
      const fresh = await outbox.takeNew();
      if (generation !== this.#generation) return; // stopped meanwhile: those items are read again at start
      if (fresh === 'busy') {
        this.kick(); // a transaction is open: its items are not committed yet
        return;
      }
      for (const id of fresh.withdrawn) for (const kind of KINDS) this.#queues[kind].remove(id);
      if (fresh.overflowed) {
        this.#spilled = true;
        this.#tableEpoch += 1;
      }
      for (const item of fresh.items) if (!this.#inflight.has(item.id)) this.#hold(item);
      if (this.#spilled && this.#held() < this.#maxInMemory) {
        // Everything held or in flight now is skipped; nothing else can enter memory before the answer
        // (looks never overlap), so an item the read returns is neither held nor being sent.
        const skip = new Set<number>([...this.#inflight.keys()]);
        for (const kind of KINDS) for (const id of this.#queues[kind].ids()) skip.add(id);
        const epoch = this.#tableEpoch;
        const { items, complete } = await outbox.pending(this.#maxInMemory - this.#held(), skip);
        if (generation !== this.#generation) return;
        for (const item of items) if (!this.#inflight.has(item.id)) this.#hold(item);
        // Spilled again while the read was under way (memory full, a rescan): not complete yet.
        this.#spilled = !complete || epoch !== this.#tableEpoch;
      }
    } catch (err) {
      countInternalError('outbox.read', err);
      this.#log.error({ err }, 'outbox: reading queued items failed; will look again');
    }
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
      await this.#o.outbox.recordFailure(item.id, error, at);
      log.warn({ url: safeUrl(item.url), attempts, retryInMs: delay, error }, 'outbox: POST failed; will retry');
    } catch (err) {
      log.error({ err }, 'outbox: could not record the failed attempt; the item stays due');
    }
    this.#hold({ ...item, attempts, lastError: error, nextAttemptAt: at });
  }
}

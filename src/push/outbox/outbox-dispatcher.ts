import { countInternalError } from '../../lib/internal-errors.js';
import type { Logger } from '../../lib/logger.js';
import { judgePpgAnswer, type PpgAnswer, type PpgAnswerVerdict } from '../pap/ppg-answer.js';
import type { PushStore } from '../store/sqlite/sqlite-push-store.js';
import { backoffDelay, type BackoffPolicy } from '../../lib/backoff.js';
import { DueQueue } from './due-queue.js';
import type { OutboxItem, OutboxKind } from './outbox-item.js';
import { PpgHttpClient, UnbuildableRequestError, type PpgHttpAnswer } from './ppg-http-client.js';
import { safeUrl, scrubSecrets } from './scrub.js';

/** How an item ended, as {@link OutboxDispatcherOptions.onSettled} hears it. */
export type OutboxSettlement =
  | { outcome: 'acknowledged'; code: number; desc: string }
  | { outcome: 'refused'; code: number; desc: string }
  | { outcome: 'gave-up'; error: string };

/** When to stop retrying an item; absent fields never stop it. */
export interface GiveUpRule {
  /** Age since the item was queued after which the next failure ends it. */
  maxAgeMs?: number;
  /** Failed attempts after which it ends. */
  maxAttempts?: number;
}

export interface OutboxDispatcherOptions {
  store: PushStore;
  logger: Logger;
  /** The HTTP client (default: one with `userAgent`, no credentials, one socket per lane slot). */
  client?: PpgHttpClient;
  /** `User-Agent` of the default client. */
  userAgent?: string;
  backoff: BackoffPolicy;
  /**
   * POSTs in flight at once, per lane (≥ 1). Hand-backs and result notifications drain in separate
   * lanes, so a PI whose notify URL hangs never delays a hand-back to the PPG. A number sets both.
   */
  concurrency: number | Record<OutboxKind, number>;
  /** Per POST, including reading the answer. A timeout counts as a failed attempt. */
  requestTimeoutMs: number;
  /**
   * Called synchronously inside the transaction that ends the item, so a state change made here (the
   * pipeline moves `handing-back → handed-back`, or to `hand-back-refused`, and queues the PI's
   * notification) commits together with the item's ending. If it throws, nothing of it commits: the
   * item stays open, the error is logged and counted, and the settlement (the PPG's answer, kept in
   * memory — not re-POSTed) is tried again with backoff. After `maxSettleAttempts` failures the item
   * ends `gave-up` and this is called once more with that settlement; if that throws too, a hand-back's
   * push is moved to `hand-back-abandoned` directly, so it always reaches one terminal state.
   */
  onSettled: (item: OutboxItem, settlement: OutboxSettlement) => void;
  /** Settlement attempts whose `onSettled` threw before the item is given up (≥ 1). Default 5. */
  maxSettleAttempts?: number;
  /**
   * Pending items held in memory at most (bounded memory); past it they wait in the table only and
   * are read back as room frees up. Default 10000.
   */
  maxInMemory?: number;
  /** Default: retry until acknowledged or refused. */
  giveUp?: GiveUpRule;
  /** Longest sleep between looks at newly queued items (items queued without `kick()`). Default 1000. */
  pollIntervalMs?: number;
  /** Bound for `stop()` to wait for aborted POSTs to settle. Default 2000. */
  stopTimeoutMs?: number;
  /** Default: {@link judgePpgAnswer} (the PAP code decides, not the HTTP status). */
  judgeResponse?: (item: OutboxItem, response: PpgAnswer) => PpgAnswerVerdict;
  maxResponseBytes?: number;
  now?: () => number;
  random?: () => number;
}

const STOPPING = Symbol('outbox dispatcher stopping');
const KINDS: readonly OutboxKind[] = ['hand-back', 'result-notification'];

/** Counters for metrics and tests. */
export interface OutboxDispatcherStats {
  /** Times `onSettled` threw (each rolled back; the settlement was tried again or given up). */
  settleFailures: number;
  /** Settlements that could not be committed at all (the store refused the write); tried again. */
  settleWriteFailures: number;
  /** Items given up because `onSettled` kept throwing. */
  settleGaveUp: number;
  /** Pending items held in memory now. */
  inMemory: number;
  /** True while some pending items wait in the table only (memory was full). */
  spilled: boolean;
}

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
  /** Answers received whose settlement failed, waiting to be tried again (not re-POSTed). */
  readonly #settling = new Map<number, NodeJS.Timeout>();
  readonly #maxInMemory: number;
  #stopper = new AbortController();
  #timer: NodeJS.Timeout | undefined;
  #lookSoon = false;
  #running = false;
  /** Some pending items are in the table only: read them as room frees up. */
  #spilled = true;
  readonly #stats = { settleFailures: 0, settleWriteFailures: 0, settleGaveUp: 0 };

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
    for (const timer of this.#settling.values()) clearTimeout(timer);
    this.#settling.clear(); // still pending in the table: sent again after a start
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
    return { ...this.#stats, inMemory: this.#held(), spilled: this.#spilled };
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
      if (!this.#settling.has(item.id)) this.#inflight.delete(item.id);
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
        return this.#settle(item, { outcome: 'gave-up', error: `request cannot be built: ${scrubSecrets(err.message)}` });
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
        return this.#settle(item, { outcome: 'acknowledged', code: verdict.code, desc: verdict.desc });
      case 'refused':
        return this.#settle(item, { outcome: 'refused', code: verdict.code, desc: verdict.desc });
      case 'retry':
        return this.#failed(item, verdict.error);
    }
  }

  /**
   * Ends the item and runs `onSettled` in one durable transaction. If `onSettled` throws or the write
   * fails, nothing commits and the item stays open (and claimed): the settlement is tried again later
   * without re-POSTing — the PPG's answer would not change.
   */
  async #settle(item: OutboxItem, settlement: OutboxSettlement, failures = 0): Promise<void> {
    const { store, onSettled } = this.#o;
    const log = this.#log.child({ outboxId: item.id, pushId: item.pushId, kind: item.kind });
    const error =
      settlement.outcome === 'acknowledged'
        ? undefined
        : settlement.outcome === 'refused'
          ? `PAP ${settlement.code} ${settlement.desc}`
          : scrubSecrets(settlement.error);
    let callbackError: unknown;
    let ended = false;
    try {
      await store.runDurable(() => {
        const now = this.#now();
        ended =
          settlement.outcome === 'acknowledged'
            ? store.outbox.markAcknowledged(item.id)
            : store.outbox.markEnded(item.id, settlement.outcome, error as string);
        if (!ended) return; // ended already (an operator, or another path): nothing to do
        const done: OutboxItem = { ...item, doneAt: now, outcome: settlement.outcome, lastError: error ?? item.lastError };
        try {
          onSettled(done, settlement);
        } catch (err) {
          callbackError = err;
          throw err; // rolls back the ending with whatever the callback had written
        }
      });
    } catch (err) {
      return this.#settleFailed(item, settlement, failures, callbackError !== undefined ? { callback: callbackError } : { write: err });
    }
    this.#settling.delete(item.id);
    this.#inflight.delete(item.id);
    if (!ended) return;
    const fields = { url: safeUrl(item.url), attempts: item.attempts + 1 };
    if (settlement.outcome === 'acknowledged') log.debug({ ...fields, code: settlement.code }, 'outbox: acknowledged');
    else if (settlement.outcome === 'refused')
      log.warn({ ...fields, code: settlement.code, desc: settlement.desc }, 'outbox: REFUSED; not sent again');
    else log.error({ ...fields, error: scrubSecrets(settlement.error) }, 'outbox: GAVE UP; not sent again');
  }

  /** A settlement did not commit: try it again later, or — when the callback keeps throwing — give the item up. */
  async #settleFailed(
    item: OutboxItem,
    settlement: OutboxSettlement,
    failures: number,
    why: { callback?: unknown; write?: unknown },
  ): Promise<void> {
    const log = this.#log.child({ outboxId: item.id, pushId: item.pushId, kind: item.kind });
    if (why.callback === undefined) {
      this.#stats.settleWriteFailures += 1;
      countInternalError('outbox.settle-write', why.write);
      log.error({ err: why.write }, 'outbox: recording the answer failed; the item stays open and the answer is recorded again later');
      this.#retrySettle(item, settlement, failures);
      return;
    }
    this.#stats.settleFailures += 1;
    countInternalError('outbox.settle-callback', why.callback);
    const attempts = failures + 1;
    const max = Math.max(1, this.#o.maxSettleAttempts ?? 5);
    if (attempts < max) {
      log.error(
        { err: why.callback, outcome: settlement.outcome, settleAttempts: attempts },
        'outbox: the callback for the answer failed; nothing recorded, the item stays open and the answer is settled again',
      );
      this.#retrySettle(item, settlement, attempts);
      return;
    }
    if (settlement.outcome !== 'gave-up') {
      log.error(
        { err: why.callback, outcome: settlement.outcome, settleAttempts: attempts },
        'outbox: the callback for the answer kept failing; giving the item up',
      );
      const message = why.callback instanceof Error ? why.callback.message : String(why.callback);
      this.#stats.settleGaveUp += 1;
      const gaveUp: OutboxSettlement = {
        outcome: 'gave-up',
        error: `the PPG answered (${settlement.outcome}) but recording it failed ${attempts} times: ${message}`,
      };
      this.#retrySettle(item, gaveUp, max - 1, 0); // one try through the callback, then #abandon
      return;
    }
    // Even the give-up cannot be recorded through the callback: end the item and, for a hand-back, its
    // push, here, so the push still reaches exactly one terminal state the status query shows.
    log.error({ err: why.callback, settleAttempts: attempts }, 'outbox: the callback failed for the give-up too; abandoning directly');
    try {
      await this.#abandon(item, settlement.error);
      this.#settling.delete(item.id);
      this.#inflight.delete(item.id);
    } catch (err) {
      log.error({ err }, 'outbox: could not record the abandonment; tried again later');
      this.#retrySettle(item, settlement, failures);
    }
  }

  #retrySettle(item: OutboxItem, settlement: OutboxSettlement, failures: number, delayMs?: number): void {
    if (!this.#running) return;
    this.#inflight.set(item.id, { kind: item.kind, done: Promise.resolve() }); // claimed: never re-sent meanwhile
    const delay = delayMs ?? backoffDelay(this.#o.backoff, Math.max(1, failures), this.#o.random);
    clearTimeout(this.#settling.get(item.id));
    const timer = setTimeout(() => {
      this.#settling.delete(item.id);
      const done = this.#settle(item, settlement, failures).finally(() => {
        if (!this.#settling.has(item.id)) this.#inflight.delete(item.id);
        this.#pump();
      });
      this.#inflight.set(item.id, { kind: item.kind, done });
    }, delay);
    this.#settling.set(item.id, timer);
  }

  /** Ends the item gave-up and moves a hand-back's push `handing-back → hand-back-abandoned`, in one commit. */
  async #abandon(item: OutboxItem, error: string): Promise<void> {
    const { store } = this.#o;
    await store.runDurable(() => {
      if (!store.outbox.markEnded(item.id, 'gave-up', scrubSecrets(error))) return;
      if (item.kind !== 'hand-back' || store.get(item.pushId)?.state !== 'handing-back') return;
      store.transition(item.pushId, 'hand-back-abandoned', { reason: scrubSecrets(error) }, { expectedFrom: 'handing-back' });
    });
    this.#log.error(
      { outboxId: item.id, pushId: item.pushId, kind: item.kind, error },
      'outbox: GAVE UP; push abandoned without the callback',
    );
  }

  async #failed(item: OutboxItem, rawError: string): Promise<void> {
    const error = scrubSecrets(rawError);
    const attempts = item.attempts + 1;
    const now = this.#now();
    const ageMs = now - item.createdAt;
    const { maxAgeMs, maxAttempts } = this.#o.giveUp ?? {};
    if ((maxAttempts !== undefined && attempts >= maxAttempts) || (maxAgeMs !== undefined && ageMs >= maxAgeMs)) {
      const why = maxAttempts !== undefined && attempts >= maxAttempts ? `${attempts} attempts` : `${Math.round(ageMs / 1000)} s`;
      return this.#settle(item, { outcome: 'gave-up', error: `no acknowledgement after ${why} (last: ${error})` });
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

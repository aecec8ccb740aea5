import type { Logger } from '../../lib/logger.js';
import { judgePpgAnswer, type PpgAnswer, type PpgAnswerVerdict } from '../pap/ppg-answer.js';
import type { PushStore } from '../store/sqlite/sqlite-push-store.js';
import { backoffDelay, type BackoffPolicy } from '../../lib/backoff.js';
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
   * notification) commits together with the item's ending. If it throws, the ending is still recorded
   * (re-POSTing would not change the PPG's answer) and the error is logged; the push stays
   * non-terminal and shows in `listResumable()`.
   */
  onSettled: (item: OutboxItem, settlement: OutboxSettlement) => void;
  /** Default: retry until acknowledged or refused. */
  giveUp?: GiveUpRule;
  /** Longest sleep between looks at the table (items queued without `kick()`). Default 1000. */
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

/**
 * Sends the outbox: picks due items per lane, POSTs each byte-exact, judges the PAP answer, and ends the
 * item (acknowledged / refused / given up) or reschedules it with exponential backoff and jitter.
 * Delivery is at-least-once: after a crash or `stop()` mid-POST the item is sent again (the PPG must
 * treat a repeated push-id as the same push). Items are claimed in memory, so exactly one dispatcher
 * may run per database file.
 */
export class OutboxDispatcher {
  readonly #o: OutboxDispatcherOptions;
  readonly #log: Logger;
  readonly #client: PpgHttpClient;
  readonly #ownClient: boolean;
  readonly #now: () => number;
  readonly #lanes: Record<OutboxKind, number>;
  readonly #inflight = new Map<number, { kind: OutboxKind; done: Promise<void> }>();
  readonly #aborts = new Set<AbortController>();
  #timer: NodeJS.Timeout | undefined;
  #running = false;

  constructor(options: OutboxDispatcherOptions) {
    const lanes =
      typeof options.concurrency === 'number'
        ? { 'hand-back': options.concurrency, 'result-notification': options.concurrency }
        : options.concurrency;
    if (KINDS.some((kind) => !(lanes[kind] >= 1))) throw new RangeError('OutboxDispatcher: concurrency must be ≥ 1');
    this.#o = options;
    this.#lanes = lanes;
    this.#log = options.logger.child({ component: 'outbox' });
    this.#ownClient = options.client === undefined;
    this.#client =
      options.client ??
      new PpgHttpClient({
        userAgent: options.userAgent ?? 'sip-push-agent',
        maxSocketsPerOrigin: Math.max(lanes['hand-back'], lanes['result-notification']),
      });
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
      Promise.allSettled([...this.#inflight.values()].map((entry) => entry.done)),
      new Promise<void>((resolve) => {
        bound = setTimeout(resolve, this.#o.stopTimeoutMs ?? 2000);
      }),
    ]);
    clearTimeout(bound);
    if (this.#ownClient) this.#client.close();
  }

  /** POSTs in flight now (of one lane, or all). */
  inflight(kind?: OutboxKind): number {
    if (kind === undefined) return this.#inflight.size;
    let n = 0;
    for (const entry of this.#inflight.values()) if (entry.kind === kind) n += 1;
    return n;
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
      for (const kind of KINDS) {
        const free = this.#lanes[kind] - this.inflight(kind);
        if (free <= 0) continue; // a finishing POST of this lane ticks again
        for (const item of outbox.due(this.#now(), free, this.#inflight, kind)) this.#launch(item);
        if (this.inflight(kind) >= this.#lanes[kind]) continue;
        const due = outbox.nextDueAt(this.#inflight, kind);
        if (due !== undefined) nextDue = Math.min(nextDue ?? due, due);
      }
    } catch (err) {
      this.#log.error({ err }, 'outbox: reading the table failed; will look again');
    }
    const poll = this.#o.pollIntervalMs ?? 1000;
    const wait = nextDue === undefined ? poll : Math.min(Math.max(nextDue - this.#now(), 0), poll);
    this.#schedule(wait);
  }

  #launch(item: OutboxItem): void {
    const done = this.#attempt(item).finally(() => {
      this.#inflight.delete(item.id);
      this.kick();
    });
    this.#inflight.set(item.id, { kind: item.kind, done });
  }

  async #attempt(item: OutboxItem): Promise<void> {
    const ac = new AbortController();
    this.#aborts.add(ac);
    const timer = setTimeout(() => ac.abort(new Error(`timed out after ${this.#o.requestTimeoutMs} ms`)), this.#o.requestTimeoutMs);
    let response: PpgHttpAnswer;
    try {
      response = await this.#client.post(item.url, item.contentType, item.body, item.headers, ac.signal, this.#o.maxResponseBytes ?? 65536);
    } catch (err) {
      if (ac.signal.reason === STOPPING) return; // left due; sent again after start()
      if (err instanceof UnbuildableRequestError) {
        return this.#settle(item, { outcome: 'gave-up', error: `request cannot be built: ${scrubSecrets(err.message)}` });
      }
      const reason = ac.signal.aborted ? ac.signal.reason : err;
      return this.#failed(item, reason instanceof Error ? reason.message : String(reason));
    } finally {
      clearTimeout(timer);
      this.#aborts.delete(ac);
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

  /** Ends the item and runs `onSettled` in one durable transaction. */
  async #settle(item: OutboxItem, settlement: OutboxSettlement): Promise<void> {
    const { store, onSettled } = this.#o;
    const log = this.#log.child({ outboxId: item.id, pushId: item.pushId, kind: item.kind });
    const error =
      settlement.outcome === 'acknowledged'
        ? undefined
        : settlement.outcome === 'refused'
          ? `PAP ${settlement.code} ${settlement.desc}`
          : settlement.error;
    const end = (): boolean =>
      settlement.outcome === 'acknowledged'
        ? store.outbox.markAcknowledged(item.id)
        : store.outbox.markEnded(item.id, settlement.outcome, scrubSecrets(error as string));
    try {
      await store.runDurable(() => {
        if (!end()) return;
        onSettled(store.outbox.get(item.id) as OutboxItem, settlement);
      });
    } catch (err) {
      log.error({ err }, 'outbox: recording the outcome with its consequences failed; recording the outcome alone');
      try {
        end();
      } catch (err2) {
        log.error({ err: err2 }, 'outbox: could not record the outcome; the item will be sent again');
        return;
      }
    }
    const fields = { url: safeUrl(item.url), attempts: item.attempts + 1 };
    if (settlement.outcome === 'acknowledged') log.debug({ ...fields, code: settlement.code }, 'outbox: acknowledged');
    else if (settlement.outcome === 'refused')
      log.warn({ ...fields, code: settlement.code, desc: settlement.desc }, 'outbox: REFUSED; not sent again');
    else log.error({ ...fields, error: scrubSecrets(settlement.error) }, 'outbox: GAVE UP; not sent again');
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
    try {
      const delay = backoffDelay(this.#o.backoff, attempts, this.#o.random);
      this.#o.store.outbox.recordFailure(item.id, error, now + delay);
      log.warn({ url: safeUrl(item.url), attempts, retryInMs: delay, error }, 'outbox: POST failed; will retry');
    } catch (err) {
      log.error({ err }, 'outbox: could not record the failed attempt; the item stays due');
    }
  }
}

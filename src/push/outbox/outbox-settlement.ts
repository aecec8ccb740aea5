/**
 * Ending an outbox item once the PPG has answered (or the dispatcher gave up): the item's ending and the
 * push move the reaction decides commit in one durable transaction (the port's `settle`). When that does
 * not commit, the answer (kept in memory, never re-POSTed) is settled again with backoff; when the
 * reaction keeps throwing, the item is given up, and when even the give-up cannot go through the
 * reaction, a hand-back's push is abandoned directly so it still reaches exactly one terminal state.
 */
import { AgentError, ErrorCodes } from '../../errors.js';
import { backoffDelay } from '../../lib/backoff.js';
import { countInternalError } from '../../lib/internal-errors.js';
import type { Logger } from '../../lib/logger.js';
import type { OutboxEnding, SettlementReaction } from '../store/push-store-port.js';
import type { OutboxDispatcherOptions, OutboxSettlement } from './outbox-dispatcher-options.js';
import type { OutboxItem, OutboxKind } from './outbox-item.js';
import { safeUrl, scrubSecrets } from './scrub.js';

/** What the settler shares with the dispatcher that owns it. */
export interface SettlementHost {
  /** POSTs in flight, and items claimed while their settlement waits: never re-sent meanwhile. */
  readonly inflight: Map<number, { kind: OutboxKind; done: Promise<void> }>;
  running(): boolean;
  /** Launches what is due now that a lane slot may have freed up. */
  pump(): void;
  /** Takes newly queued items (a settlement's move may have queued the PI's notification). */
  kick(): void;
}

/** The storage refused the write (as opposed to the reaction, or the move it asked for, failing). */
function isWriteFailure(err: unknown): boolean {
  return err instanceof AgentError && err.code === ErrorCodes.STORE_UNWRITABLE;
}

/**
 * The reaction of last resort: a hand-back's push still `handing-back` moves to `hand-back-abandoned`
 * with `reason`; any other push stays where it is (it is terminal already, or it was never waiting).
 */
export function abandonReaction(reason: string): SettlementReaction {
  return (item, push) =>
    item.kind === 'hand-back' && push?.state === 'handing-back'
      ? { to: 'hand-back-abandoned', detail: { reason }, options: { expectedFrom: 'handing-back' } }
      : undefined;
}

export class OutboxSettler {
  readonly #o: OutboxDispatcherOptions;
  readonly #log: Logger;
  readonly #host: SettlementHost;
  /** Answers received whose settlement failed, waiting to be tried again (not re-POSTed). */
  readonly #settling = new Map<number, NodeJS.Timeout>();
  readonly #stats = { settleFailures: 0, settleWriteFailures: 0, settleGaveUp: 0 };

  constructor(options: OutboxDispatcherOptions, log: Logger, host: SettlementHost) {
    this.#o = options;
    this.#log = log;
    this.#host = host;
  }

  stats(): { settleFailures: number; settleWriteFailures: number; settleGaveUp: number } {
    return { ...this.#stats };
  }

  /** True while the item's settlement waits to be tried again. */
  isSettling(id: number): boolean {
    return this.#settling.has(id);
  }

  /** Drops every waiting retry: those items are still pending in the table, sent again after a start. */
  cancelAll(): void {
    for (const timer of this.#settling.values()) clearTimeout(timer);
    this.#settling.clear();
  }

  /**
   * Ends the item and applies the reaction's push move in one durable commit. If the reaction throws or
   * the write fails, nothing commits and the item stays open (and claimed): the settlement is tried again
   * later without re-POSTing — the PPG's answer would not change.
   */
  async settle(item: OutboxItem, settlement: OutboxSettlement, failures = 0): Promise<void> {
    const { outbox, react } = this.#o;
    const log = this.#log.child({ outboxId: item.id, pushId: item.pushId, kind: item.kind });
    const ending: OutboxEnding =
      settlement.outcome === 'acknowledged'
        ? { outcome: 'acknowledged' }
        : settlement.outcome === 'refused'
          ? { outcome: 'refused', error: `PAP ${settlement.code} ${settlement.desc}` }
          : { outcome: 'gave-up', error: scrubSecrets(settlement.error) };
    let ended: boolean;
    try {
      ended = await outbox.settle(item, ending, (done, push) => react(done, settlement, push));
    } catch (err) {
      return this.#settleFailed(item, settlement, failures, isWriteFailure(err) ? { write: err } : { callback: err });
    }
    this.#settling.delete(item.id);
    this.#host.inflight.delete(item.id);
    if (!ended) return; // ended already (an operator, or another path): nothing to do
    this.#host.kick();
    const fields = { url: safeUrl(item.url), attempts: item.attempts + 1 };
    if (settlement.outcome === 'acknowledged') log.debug({ ...fields, code: settlement.code }, 'outbox: acknowledged');
    else if (settlement.outcome === 'refused')
      log.warn({ ...fields, code: settlement.code, desc: settlement.desc }, 'outbox: REFUSED; not sent again');
    else log.error({ ...fields, error: scrubSecrets(settlement.error) }, 'outbox: GAVE UP; not sent again');
  }

  /** A settlement did not commit: try it again later, or — when the reaction keeps throwing — give the item up. */
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
        'outbox: the reaction to the answer failed; nothing recorded, the item stays open and the answer is settled again',
      );
      this.#retrySettle(item, settlement, attempts);
      return;
    }
    if (settlement.outcome !== 'gave-up') {
      log.error(
        { err: why.callback, outcome: settlement.outcome, settleAttempts: attempts },
        'outbox: the reaction to the answer kept failing; giving the item up',
      );
      const message = why.callback instanceof Error ? why.callback.message : String(why.callback);
      this.#stats.settleGaveUp += 1;
      const gaveUp: OutboxSettlement = {
        outcome: 'gave-up',
        error: `the PPG answered (${settlement.outcome}) but recording it failed ${attempts} times: ${message}`,
      };
      this.#retrySettle(item, gaveUp, max - 1, 0); // one try through the reaction, then #abandon
      return;
    }
    // Even the give-up cannot be recorded through the reaction: end the item and, for a hand-back, its
    // push, here, so the push still reaches exactly one terminal state the status query shows.
    log.error({ err: why.callback, settleAttempts: attempts }, 'outbox: the reaction failed for the give-up too; abandoning directly');
    try {
      await this.#abandon(item, settlement.error);
      this.#settling.delete(item.id);
      this.#host.inflight.delete(item.id);
    } catch (err) {
      log.error({ err }, 'outbox: could not record the abandonment; tried again later');
      this.#retrySettle(item, settlement, failures);
    }
  }

  #retrySettle(item: OutboxItem, settlement: OutboxSettlement, failures: number, delayMs?: number): void {
    if (!this.#host.running()) return;
    this.#host.inflight.set(item.id, { kind: item.kind, done: Promise.resolve() }); // claimed: never re-sent meanwhile
    const delay = delayMs ?? backoffDelay(this.#o.backoff, Math.max(1, failures), this.#o.random);
    clearTimeout(this.#settling.get(item.id));
    const timer = setTimeout(() => {
      this.#settling.delete(item.id);
      const done = this.settle(item, settlement, failures).finally(() => {
        if (!this.#settling.has(item.id)) this.#host.inflight.delete(item.id);
        this.#host.pump();
      });
      this.#host.inflight.set(item.id, { kind: item.kind, done });
    }, delay);
    this.#settling.set(item.id, timer);
  }

  /** Ends the item gave-up and moves a hand-back's push `handing-back → hand-back-abandoned`, in one commit. */
  async #abandon(item: OutboxItem, error: string): Promise<void> {
    const reason = scrubSecrets(error);
    await this.#o.outbox.settle(item, { outcome: 'gave-up', error: reason }, abandonReaction(reason));
    this.#log.error(
      { outboxId: item.id, pushId: item.pushId, kind: item.kind, error },
      'outbox: GAVE UP; push abandoned without the reaction',
    );
  }
}

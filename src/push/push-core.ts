/**
 * The push core: wires admission → delivery → outcome over the store port, and takes the commands the
 * intake edges translate requests into (submit, cancel, status query, read). One-way: it calls the
 * oracle, the engine and the store; nothing below calls back into it except the outbox's settlement.
 *
 *   admission/  validate, dedupe, decide, persist          → AdmissionResult
 *   delivery/   lane (queue + schedule), one attempt each  → outcome of the SIP transaction
 *   outcome/    terminal states, hand-backs, notifications, settlement of outbox items
 *   commands/   cancel, status query
 */
import type { Logger } from 'pino';
import { AgentError, ErrorCodes } from '../errors.js';
import { countInternalError } from '../lib/internal-errors.js';
import { Admission } from './admission/admission.js';
import type { AdmissionResult } from './admission/admission-result.js';
import { cancelPush, type CancelResult } from './commands/cancel.js';
import { statusOf, type StatusResult } from './commands/status-query.js';
import { PushCounting, type HandBackCount, type OutboxOutcomeCount, type PushCounters } from './counters.js';
import { DeliveryAttempts } from './delivery/delivery-attempt.js';
import { DeliveryLane } from './delivery/delivery-lane.js';
import type { OutboxSettlement } from './outbox/outbox-dispatcher.js';
import type { OutboxItem } from './outbox/outbox-item.js';
import { Outcomes } from './outcome/outcomes.js';
import type { PushSubmission } from './pap/pap-types.js';
import { ANONYMOUS_CALLER, DEFAULT_PPG, type IntakeCaller, type PushCoreOptions } from './push-settings.js';
import type { PushHistoryEntry, PushRecord, PushSource, PushSummary } from './store/push-record.js';
import type { PushMove, ResumablePush } from './store/push-store-port.js';
import { WriteRetry } from './store/write-retry.js';

export class PushCore {
  private readonly log: Logger;
  private readonly counting: PushCounting;
  private readonly writes: WriteRetry;
  private readonly lane: DeliveryLane;
  private readonly attempts: DeliveryAttempts;
  private readonly outcomes: Outcomes;
  private readonly admission: Admission;
  private accepting = true;

  constructor(private readonly options: PushCoreOptions) {
    const { store, profile } = options;
    const now = options.now ?? Date.now;
    this.log = options.logger.child({ module: 'push' });
    this.counting = new PushCounting(profile.handBack.defaultBearer);
    const counters = this.counting.counters;
    this.writes = new WriteRetry({ probe: () => store.probeWrite(), logger: this.log });
    this.outcomes = new Outcomes({
      store,
      writes: this.writes,
      counting: this.counting,
      ppg: { ...DEFAULT_PPG, ...options.ppg },
      handBackUrl: options.handBackUrl,
      senderName: options.senderName,
      now,
      log: this.log,
      outcomeLogLevel: options.outcomeLogLevel ?? 'info',
      onOutboxQueued: options.onOutboxQueued,
    });
    const { engine, oracle, coreHealth } = options;
    this.attempts = new DeliveryAttempts({
      store,
      engine,
      oracle,
      profile,
      writes: this.writes,
      outcomes: this.outcomes,
      counters,
      coreHealth,
      log: this.log,
      now,
    });
    this.lane = new DeliveryLane({
      maxInFlight: options.maxInFlight,
      maxQueued: options.maxQueued,
      now,
      log: this.log,
      attempt: (pushId) => this.attempts.attempt(pushId),
    });
    this.attempts.lane = this.lane;
    this.admission = new Admission({
      store,
      engine,
      oracle,
      profile,
      policy: options.policy,
      maxScheduled: options.maxScheduled ?? Number.POSITIVE_INFINITY,
      lane: this.lane,
      writes: this.writes,
      outcomes: this.outcomes,
      counters,
      coreHealth,
      notifyAllowed: options.notifyAllowed,
      isAccepting: () => this.accepting,
      log: this.log,
      now,
    });
  }

  /** Every count the flow keeps (read by /metrics on scrape). */
  get counters(): Readonly<PushCounters> {
    return this.counting.counters;
  }

  handBackCounts(): HandBackCount[] {
    return this.counting.handBackCounts();
  }

  outboxOutcomeCounts(): OutboxOutcomeCount[] {
    return this.counting.outboxOutcomeCounts();
  }

  /** False while the store refuses writes (disk full): readiness reports it, intake answers 4001. */
  get storeWritable(): boolean {
    return this.writes.writable;
  }

  get scheduledCount(): number {
    return this.lane.scheduledCount;
  }

  get isAccepting(): boolean {
    return this.accepting;
  }

  get queueDepth(): { inFlight: number; queued: number } {
    return this.lane.depth;
  }

  /** Stops intake: every new push gets PAP 4001 from now on. */
  stopAccepting(): void {
    this.accepting = false;
  }

  /** Waits (bounded) for in-flight deliveries; forgets scheduled pushes (they resume after a restart). */
  async drain(timeoutMs: number): Promise<boolean> {
    const drained = await this.lane.drain(timeoutMs);
    this.writes.stop();
    return drained;
  }

  /**
   * After a restart: every non-terminal push resumes, from a light query (ids, states, due times; no
   * bodies — a body is read when its push is due). `accepted` is delivered (or expires); `delivering`
   * was interrupted mid-transaction, so it goes back to `accepted` and is sent again with the same
   * Call-ID/From tag/CSeq; its outcome then follows the unconfirmed rules (a failure answer to the copy
   * proves nothing about the first). `handing-back` already has its outbox item, which the dispatcher
   * finishes.
   */
  async resume(): Promise<number> {
    const resumed = await this.resumeEach(await this.options.store.listResumable(), 'resumed after restart');
    if (resumed > 0) this.log.info({ resumed }, 'resumed pushes after restart');
    return resumed;
  }

  /**
   * Cluster mode: pushes taken over from an agent that stopped renewing its leases resume exactly as a
   * restart resumes its own (see {@link resume}). Returns how many were scheduled.
   */
  async resumeTakenOver(pushes: readonly ResumablePush[]): Promise<number> {
    const resumed = await this.resumeEach(pushes, 'taken over from a lapsed lease');
    if (resumed > 0) this.log.info({ resumed }, 'resumed pushes taken over from another agent');
    return resumed;
  }

  private async resumeEach(pushes: readonly ResumablePush[], note: string): Promise<number> {
    let resumed = 0;
    for (const due of pushes) {
      if (due.state === 'delivering') {
        try {
          await this.options.store.transition(due.pushId, 'accepted', { note }, { expectedFrom: 'delivering' });
        } catch (err) {
          // Moved since it was listed (in a cluster: by the agent that held it, awake again): not ours to resume.
          if (err instanceof AgentError && err.code === ErrorCodes.PUSH_STATE_CONFLICT) continue;
          throw err;
        }
      }
      if (due.state === 'accepted' || due.state === 'delivering') {
        this.lane.schedule(due.pushId, due.deliverAfter);
        resumed += 1;
      }
    }
    return resumed;
  }

  /** The submit command: admission of one parsed push. Never throws: a defect answers INTERNAL_ERROR. */
  async submit(
    push: PushSubmission,
    rawContentType: string,
    rawBody: Buffer,
    source: PushSource,
    caller: IntakeCaller = ANONYMOUS_CALLER,
  ): Promise<AdmissionResult> {
    try {
      return await this.admission.admit(push, rawContentType, rawBody, source, caller);
    } catch (err) {
      countInternalError('push:admission', err);
      this.log.error({ err, pushId: push.pushId }, 'push intake failed unexpectedly');
      return { kind: 'rejected', pushId: push.pushId, code: ErrorCodes.INTERNAL_ERROR, reason: 'Internal error while admitting the push' };
    }
  }

  /**
   * A stored push as `caller` may see it: its own PI's (or any, for the admin or a push stored before PIs
   * were recorded), else undefined — exactly what a push-id that does not exist gives, so one PI learns
   * nothing about another's pushes from status query, read or cancel.
   */
  async recordFor(pushId: string, caller: IntakeCaller = ANONYMOUS_CALLER): Promise<PushRecord | undefined> {
    const record = await this.options.store.get(pushId);
    if (!record || caller.admin || record.submittedBy === undefined || record.submittedBy === caller.pi) return record;
    return undefined;
  }

  /** The audit trail of a push (admin). */
  history(pushId: string): Promise<PushHistoryEntry[]> {
    return this.options.store.history(pushId);
  }

  /** A request the intake refused before it became a command (unparseable PAP): counted as rejected. */
  countBadRequest(): void {
    this.counting.counters.rejected += 1;
  }

  /** The cancel command. */
  cancel(pushId: string, caller: IntakeCaller = ANONYMOUS_CALLER): Promise<CancelResult> {
    return cancelPush(pushId, {
      recordFor: (id) => this.recordFor(id, caller),
      visibleState: (record) => this.attempts.visibleState(record),
      unschedule: (id) => {
        this.lane.unschedule(id);
        this.lane.forget(id); // a queued attempt then reads the push (cancelled) instead of its cached record
      },
      outcomes: this.outcomes,
      counters: this.counting.counters,
      noteStoreFailure: (err) => this.writes.noteFailure(err),
      log: this.log,
    });
  }

  /** The status query command. */
  async statusQuery(pushId: string, caller: IntakeCaller = ANONYMOUS_CALLER): Promise<StatusResult> {
    let record: PushRecord | undefined;
    try {
      record = await this.recordFor(pushId, caller);
    } catch (err) {
      countInternalError('push:status-query-store', err);
      this.log.error({ err, pushId }, 'status query: the push store failed; answered 4001');
      return { kind: 'store-failed', reason: 'Push store failed: try again later' };
    }
    return statusOf(record, (r) => this.attempts.visibleState(r));
  }

  /**
   * How the push of an ended outbox item moves (decided inside the commit that records the ending);
   * see {@link Outcomes.settlementMove}. The store applies it in that same commit.
   */
  onOutboxSettled(item: OutboxItem, settlement: OutboxSettlement, record: PushSummary | undefined): PushMove | undefined {
    return this.outcomes.settlementMove(item, settlement, record);
  }
}

/**
 * The push path: intake → decision (capability table) → SIP MESSAGE → outcome →
 * store/notify. One-way: this module calls the oracle, the engine, the store and the outbox; nothing
 * below calls back into it except the outbox's acknowledgement callback.
 *
 * - Reachable (or unknown when the profile says try) → the push is persisted, PAP 1001 answered, then
 *   delivered in a SIP MESSAGE (RFC 3428).
 * - Not reachable → synchronous hand-back: PAP 3010 with the bearer hint in the `X-Push-Bearer-Hint`
 *   response header and the `response-result` desc (a `progress-note` only when the PI asked for
 *   progress notes) and **no SIP request at all**.
 * - SIP failure after 1001 → the table learns it and the push is POSTed back to the PPG's hand-back
 *   endpoint (outbox) as PAP the configured PPG accepts; the PPG's PAP answer decides how it ends
 *   (handed-back, hand-back-refused, or hand-back-abandoned by the give-up rule). docs/ppg.md.
 */
import type { LevelWithSilent, Logger } from 'pino';
import { bearerHintLabel } from '../capabilities/bearer-hint.js';
import { AgentError, ErrorCodes } from '../errors.js';
import type { SipProfile } from '../profiles/schema.js';
import { SipRequestError, type SipEngine } from '../sip/port.js';
import { handBackAddress, mapAddressToAor, papAddressForAor, type HandBackAddressing } from './address.js';
import { DeliveryQueue } from './delivery/delivery-queue.js';
import type { OutboxSettlement } from './outbox/outbox-dispatcher.js';
import { outcomeOfError, outcomeOfStatus, type DeliveryOutcome } from './delivery/delivery-outcome.js';
import { DueSchedule } from './delivery/due-schedule.js';
import { engineLimitFor } from './admission/engine-limits.js';
import { newMessageIdentity } from './delivery/message-identity.js';
import type { NewOutboxItem, OutboxItem } from './outbox/outbox-item.js';
import type { PpgPapVersion } from './pap/hand-back-push.js';
import { PapCode, papCodeForError } from './pap/pap-codes.js';
import {
  buildBadMessageResponse,
  buildCancelResponse,
  buildHandBackPush,
  buildPushResponse,
  buildResultNotification,
  buildStatusQueryResponse,
} from './pap/pap-builder.js';
import { parsePapRequest } from './pap/pap-parser.js';
import type { PapVersion, PushSubmission } from './pap/pap-types.js';
import { papStateView } from './outcome/pap-state-view.js';
import type { ReachabilityOracle } from '../capabilities/reachability-oracle.js';
import { buildPushMessageRequest, estimateRequestBytes, messageTransportFor } from './delivery/sip-message-builder.js';
import type { PushRecord, PushSource } from './store/push-record.js';
import { isTerminal, type PushState } from './store/push-state.js';
import type { PushStore } from './store/sqlite/sqlite-push-store.js';
import { WriteRetry } from './store/write-retry.js';

/** The intake response header that carries the bearer hint on a synchronous hand-back (never sent to the PPG's hand-back endpoint). */
export const BEARER_HINT_HEADER = 'X-Push-Bearer-Hint';

/** Who sent an intake request, as the HTTP intake authenticated it. */
export interface IntakeCaller {
  /** The PI: its intake user name, or `anonymous` when the intake is open. */
  pi: string;
  /** Presented the admin token: may read and cancel any PI's push. */
  admin?: boolean;
}

/** Every caller of an open intake (no `intake.auth.users`): one PI, since nothing tells callers apart. */
export const ANONYMOUS_CALLER: IntakeCaller = Object.freeze({ pi: 'anonymous' });

/** Bearers that mean "SIP is fine" when a PI sets `bearer-required="true"`. */
const SIP_BEARERS = new Set(['sip', 'ims', 'any']);

export interface IntakeReply {
  httpStatus: number;
  headers: Record<string, string>;
  contentType: string;
  body: string;
}

export interface PushServiceOptions {
  store: PushStore;
  engine: SipEngine;
  oracle: ReachabilityOracle;
  profile: SipProfile;
  logger: Logger;
  handBackUrl: string;
  policy: 'presence-aware' | 'always-sip';
  maxInFlight: number;
  maxQueued: number;
  /** Most pushes waiting for a future deliver-after at once; past it intake answers PAP 4001. */
  maxScheduled?: number;
  senderName?: string;
  /** How hand-backs are written for the PPG behind the agent (config `ppg`); defaults in {@link DEFAULT_PPG}. */
  ppg?: Partial<PpgSettings>;
  now?: () => number;
  /**
   * May `pi` have result notifications POSTed to `url` (its `ppg-notify-requested-to`)? Absent: any URL.
   * The agent POSTs to that URL and retries until acknowledged, so an open choice lets a PI aim the
   * agent at any host it can reach (the composition root passes the configured allow-list).
   */
  notifyAllowed?: (pi: string, url: string) => boolean;
  /** Called after a hand-back or result notification was queued in the outbox (the composition root kicks the dispatcher). */
  onOutboxQueued?: () => void;
  /** Level of the one line logged per outcome (config `log.outcomes`, default `info`). */
  outcomeLogLevel?: LevelWithSilent;
  /** The SIP core's health; absent → always assumed up (no probing). */
  coreHealth?: CoreHealthView;
}

/** What the push path reads of the SIP core's health (src/core-health/). */
export interface CoreHealthView {
  readonly state: 'unknown' | 'up' | 'down';
  /** Increases whenever the core goes down: a transaction that saw it change was not "known alive". */
  readonly downs: number;
}

/** What the agent knows about the PPG it hands back to (config `ppg`). */
export interface PpgSettings extends HandBackAddressing {
  papVersion: PpgPapVersion;
  /** The PPG notifies the PI for pushes it took back; the agent then does not. */
  sendsResultNotifications: boolean;
  network?: string;
}

export const DEFAULT_PPG: PpgSettings = { papVersion: '1.0', sendsResultNotifications: false, numberBearers: ['SMS'], msisdns: {} };

/** How outbox items ended, by kind (hand-back / result-notification) and outcome. */
export interface OutboxOutcomeCount {
  kind: 'hand-back' | 'result-notification';
  outcome: 'acknowledged' | 'refused' | 'gave-up' | 'not-possible';
  count: number;
}

/** Counters for metrics and the benchmarks' signalling table. */
export interface PushServiceCounters {
  accepted: number;
  handedBackSync: number;
  handedBackAsync: number;
  delivered: number;
  expired: number;
  cancelled: number;
  rejected: number;
  messagesSent: number;
  overloaded: number;
  /** Synchronous 3010s because the engine cannot carry the content (binary over a text-only engine, size). */
  handedBackEngineLimit: number;
  /** Pushes ended `unconfirmed` (profile `delivery.whenUnconfirmed: report`). */
  unconfirmed: number;
  /** Unconfirmed MESSAGEs handed back anyway (profile `delivery.whenUnconfirmed: hand-back`). */
  unconfirmedHandedBack: number;
  /** Refused at intake because `limits.maxScheduled` pushes already wait for their deliver-after. */
  scheduleFull: number;
  /** Refused at intake (4001) because the store could not write (disk full or failing). */
  storeUnwritable: number;
  /** Synchronous hand-backs because the SIP core was down (also counted in handedBackSync). */
  coreDown: number;
}

type TerminalDetail = { reason?: string; sipStatus?: number; bearerHint?: string; papCode?: number };

/** Hand-backs by bearer hint and mode (synchronous 3010 at intake, asynchronous after a SIP failure). */
export interface HandBackCount {
  /** The hint's vocabulary spelling, or `other` (bearerHintLabel): bounded, whatever PIs send. */
  hint: string;
  mode: 'sync' | 'async';
  count: number;
}

/** An exact-size copy of `bytes` with its own memory (not a view into a shared pool slab or request body). */
function ownCopy(bytes: Buffer): Buffer {
  const copy = new Uint8Array(bytes);
  return Buffer.from(copy.buffer, copy.byteOffset, copy.byteLength);
}

/**
 * The submission as cached until delivery: its Buffers are subarrays of the HTTP body, itself a slice of
 * Node's 8 KB Buffer pool, so each cached push could pin a whole slab (measured under overload: 16 MB of
 * slabs for ≈ 22k cached pushes; 8 KB × (maxQueued + maxInFlight) at worst). Copies keep only the bytes.
 */
function detached(push: PushSubmission): PushSubmission {
  return {
    ...push,
    content: { ...push.content, body: ownCopy(push.content.body) },
    ...(push.capabilities ? { capabilities: ownCopy(push.capabilities) } : {}),
  };
}

export class PushService {
  private readonly queue: DeliveryQueue;
  private readonly handBacks = new Map<string, HandBackCount>();
  private readonly outboxOutcomes = new Map<string, OutboxOutcomeCount>();
  private readonly ppg: PpgSettings;
  /** Parsed submissions of pushes due now (scheduled ones are re-read from the store when due). */
  private readonly submissions = new Map<string, PushSubmission>();
  private readonly scheduled: DueSchedule;
  /** Pushes whose MESSAGE is on the wire (their `delivering` row may still be in the group commit). */
  private readonly onWire = new Set<string>();
  private readonly log: Logger;
  private readonly now: () => number;
  private accepting = true;
  readonly counters: PushServiceCounters = {
    accepted: 0,
    handedBackSync: 0,
    handedBackAsync: 0,
    delivered: 0,
    expired: 0,
    cancelled: 0,
    rejected: 0,
    messagesSent: 0,
    overloaded: 0,
    handedBackEngineLimit: 0,
    unconfirmed: 0,
    unconfirmedHandedBack: 0,
    scheduleFull: 0,
    storeUnwritable: 0,
    coreDown: 0,
  };
  /** Outcome writes retried until they commit when the disk is full (see {@link WriteRetry}). */
  private readonly writes: WriteRetry;

  constructor(private readonly options: PushServiceOptions) {
    this.queue = new DeliveryQueue(options.maxInFlight, options.maxQueued);
    this.log = options.logger.child({ module: 'push' });
    this.now = options.now ?? Date.now;
    this.ppg = { ...DEFAULT_PPG, ...options.ppg };
    this.scheduled = new DueSchedule(
      (pushId) => this.queue.push(() => this.deliver(pushId)),
      () => this.now(),
    );
    this.writes = new WriteRetry({ probe: () => options.store.probeWrite(), logger: this.log });
  }

  /** False while the store refuses writes (disk full): readiness reports it, intake answers 4001. */
  get storeWritable(): boolean {
    return this.writes.writable;
  }

  /** Pushes waiting for a future deliver-after (bodies on disk, not in memory). */
  get scheduledCount(): number {
    return this.scheduled.size;
  }

  get isAccepting(): boolean {
    return this.accepting;
  }

  get queueDepth(): { inFlight: number; queued: number } {
    return this.queue.depth;
  }

  /** Hand-backs so far by hint and mode (read by /metrics on scrape). */
  handBackCounts(): HandBackCount[] {
    return [...this.handBacks.values()];
  }

  /** Outbox items ended so far by kind and outcome (read by /metrics on scrape). */
  outboxOutcomeCounts(): OutboxOutcomeCount[] {
    return [...this.outboxOutcomes.values()];
  }

  private countOutboxOutcome(kind: OutboxOutcomeCount['kind'], outcome: OutboxOutcomeCount['outcome']): void {
    const key = `${kind}|${outcome}`;
    const entry = this.outboxOutcomes.get(key);
    if (entry) entry.count += 1;
    else this.outboxOutcomes.set(key, { kind, outcome, count: 1 });
  }

  private countHandBack(rawHint: string, mode: 'sync' | 'async'): void {
    const hint = bearerHintLabel(rawHint, [this.options.profile.handBack.defaultBearer]);
    const key = `${mode}|${hint}`;
    const entry = this.handBacks.get(key);
    if (entry) entry.count += 1;
    else this.handBacks.set(key, { hint, mode, count: 1 });
    if (mode === 'sync') this.counters.handedBackSync += 1;
    else this.counters.handedBackAsync += 1;
  }

  /** Stops intake: every new push gets PAP 4001 from now on. */
  stopAccepting(): void {
    this.accepting = false;
  }

  /** Waits (bounded) for in-flight deliveries; forgets scheduled pushes (they resume after a restart). */
  async drain(timeoutMs: number): Promise<boolean> {
    this.scheduled.clear();
    const drained = await this.queue.drain(timeoutMs);
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
  resume(): number {
    let resumed = 0;
    for (const due of this.options.store.listResumableDue()) {
      if (due.state === 'delivering') {
        this.options.store.transition(due.pushId, 'accepted', { note: 'resumed after restart' });
      }
      if (due.state === 'accepted' || due.state === 'delivering') {
        this.schedule(due.pushId, due.deliverAfter);
        resumed += 1;
      }
    }
    if (resumed > 0) this.log.info({ resumed }, 'resumed pushes after restart');
    return resumed;
  }

  /** Handles one PAP request body (push, cancel or status query) from `caller`. Never throws. */
  async handlePap(contentType: string, body: Buffer, caller: IntakeCaller = ANONYMOUS_CALLER): Promise<IntakeReply> {
    let request: ReturnType<typeof parsePapRequest>;
    try {
      request = parsePapRequest(contentType, body);
    } catch (err) {
      return this.badMessage(err, body);
    }
    switch (request.kind) {
      case 'push':
        return this.submit(request.push, contentType, body, 'pap', caller);
      case 'cancel':
        return this.cancel(request.pushId, request.papVersion, caller);
      case 'statusquery':
        return this.statusQuery(request.pushId, request.papVersion, caller);
    }
  }

  /**
   * A stored push as `caller` may see it: its own PI's (or any, for the admin or a push stored before PIs
   * were recorded), else undefined — exactly what a push-id that does not exist gives, so one PI learns
   * nothing about another's pushes from status query, read or cancel.
   */
  recordFor(pushId: string, caller: IntakeCaller): PushRecord | undefined {
    const record = this.options.store.get(pushId);
    if (!record || caller.admin || record.submittedBy === undefined || record.submittedBy === caller.pi) return record;
    return undefined;
  }

  /** Intake of one parsed push; `rawContentType`/`rawBody` are persisted for resume. */
  async submit(
    push: PushSubmission,
    rawContentType: string,
    rawBody: Buffer,
    source: PushSource,
    caller: IntakeCaller = ANONYMOUS_CALLER,
  ): Promise<IntakeReply> {
    const log = this.log.child({ pushId: push.pushId });
    const reply = (
      code: number,
      desc?: string,
      extra: Partial<IntakeReply> = {},
      progressNote?: { stage: string; note?: string },
    ): IntakeReply => ({
      httpStatus: code === PapCode.ACCEPTED_FOR_PROCESSING ? 202 : code === PapCode.SERVICE_UNAVAILABLE ? 503 : 200,
      contentType: 'application/xml',
      ...extra,
      headers: { ...(code === PapCode.SERVICE_UNAVAILABLE ? { 'Retry-After': '1' } : {}), ...(extra.headers ?? {}) },
      body: buildPushResponse({
        pushId: push.pushId,
        code,
        desc,
        version: push.papVersion,
        replyTime: new Date(this.now()),
        senderName: this.options.senderName,
        progressNote: progressNote && push.progressNotesRequested ? { ...progressNote, time: new Date(this.now()) } : undefined,
      }),
    });

    if (!this.accepting || !this.queue.hasRoom()) {
      this.counters.overloaded += 1;
      return reply(PapCode.SERVICE_UNAVAILABLE, this.accepting ? 'Overloaded: try again shortly' : 'Shutting down');
    }
    if (push.notifyTo !== undefined && this.options.notifyAllowed && !this.options.notifyAllowed(caller.pi, push.notifyTo)) {
      // PAP 2001 Forbidden: a valid request this PI may not make (its notify destinations are allow-listed).
      this.counters.rejected += 1;
      return reply(PapCode.FORBIDDEN, `ppg-notify-requested-to: ${push.notifyTo} is not an allowed notification destination for this PI`);
    }
    if (!this.writes.writable) {
      this.counters.storeUnwritable += 1;
      return reply(PapCode.SERVICE_UNAVAILABLE, 'Push store cannot write (disk full or failing): try again later');
    }
    if (push.addresses.length !== 1) {
      this.counters.rejected += 1;
      return reply(PapCode.MULTIPLE_ADDRESSES_NOT_SUPPORTED, 'One address per push-message');
    }
    const address = push.addresses[0] as string;
    let aor: string;
    try {
      aor = mapAddressToAor(address, this.options.profile).aor;
    } catch (err) {
      this.counters.rejected += 1;
      return reply(PapCode.ADDRESS_ERROR, (err as Error).message);
    }
    if (this.options.store.get(push.pushId)) {
      this.counters.rejected += 1;
      return reply(PapCode.DUPLICATE_PUSH_ID, `push-id ${push.pushId} already used`);
    }
    if (push.replacePushId !== undefined) {
      this.counters.rejected += 1;
      return reply(PapCode.REPLACEMENT_NOT_SUPPORTED);
    }
    // PAP has no code of its own for an impossible delivery window: 2000 with the field named, at once,
    // rather than 1001 followed by `expired`.
    const before = push.deliverBefore?.getTime();
    const after = push.deliverAfter?.getTime();
    if (before !== undefined && before <= this.now()) {
      this.counters.rejected += 1;
      return reply(PapCode.BAD_REQUEST, `deliver-before-timestamp ${push.deliverBefore!.toISOString()} is already past`);
    }
    if (before !== undefined && after !== undefined && before <= after) {
      this.counters.rejected += 1;
      return reply(PapCode.BAD_REQUEST, 'deliver-before-timestamp is not later than deliver-after-timestamp');
    }
    const maxScheduled = this.options.maxScheduled ?? Number.POSITIVE_INFINITY;
    if (after !== undefined && after > this.now() && this.scheduled.size >= maxScheduled) {
      this.counters.scheduleFull += 1;
      return reply(PapCode.SERVICE_UNAVAILABLE, `Too many scheduled pushes (limits.maxScheduled = ${maxScheduled}): try again later`);
    }

    // A PI that insists on another bearer (PAP 2.0 quality-of-service bearer-required) goes back at once.
    const requested = push.qos.bearer;
    if (push.qos.bearerRequired && requested && !SIP_BEARERS.has(requested.toLowerCase())) {
      return this.syncHandBack(reply, { pushId: push.pushId, aor }, requested, `bearer ${requested} required by the PI`);
    }

    // A core known down gets nothing: the PPG takes the push now rather than after Timer F (RFC 3261
    // §17.1.2.2), and no SIP is spent — not even presence.
    if (this.options.coreHealth?.state === 'down') {
      this.counters.coreDown += 1;
      return this.syncHandBack(
        reply,
        { pushId: push.pushId, aor },
        this.hintFor(push, this.options.profile.handBack.defaultBearer),
        'SIP core unreachable',
      );
    }

    if (this.options.policy === 'presence-aware') {
      const verdict = await this.options.oracle.decide(aor);
      const tryUnknown = this.options.profile.presence.whenUnknown === 'try-sip';
      if (verdict.reachability === 'unreachable' || (verdict.reachability === 'unknown' && !tryUnknown)) {
        return this.syncHandBack(reply, { pushId: push.pushId, aor }, verdict.bearerHint, verdict.reason);
      }
    }

    // RFC 3428 §9: a MESSAGE over 1300 bytes needs a congestion-controlled transport.
    let probe: ReturnType<typeof buildPushMessageRequest>;
    try {
      probe = buildPushMessageRequest(push, aor, this.options.profile);
    } catch (err) {
      // e.g. an X-Wap-Application-Id that cannot become a feature-tag value (found by the intake fuzz test).
      if (!(err instanceof AgentError)) throw err;
      this.counters.rejected += 1;
      return reply(papCodeForError(err.code), err.message);
    }
    if (messageTransportFor(estimateRequestBytes(probe), this.options.profile) === 'hand-back') {
      return this.syncHandBack(
        reply,
        { pushId: push.pushId, aor },
        this.options.profile.handBack.defaultBearer,
        'content too large for UDP and the profile forbids TCP',
      );
    }
    // What the engine can never send is refused now, with nothing stored and nothing sent.
    const limit = engineLimitFor(push.content.body, push.content.contentType, this.options.engine);
    if (limit) {
      log.info({ aor, limit }, 'engine cannot carry the content: handed back');
      this.counters.handedBackEngineLimit += 1;
      return this.syncHandBack(reply, { pushId: push.pushId, aor }, this.hintFor(push, this.options.profile.handBack.defaultBearer), limit);
    }

    try {
      // Group commit: resolves once the row is on disk (FULL: fsynced), shared with concurrent intakes.
      await this.options.store.insertDurable({
        pushId: push.pushId,
        address,
        aor,
        requestContentType: rawContentType,
        requestBody: rawBody,
        deliverAfter: push.deliverAfter?.getTime(),
        deliverBefore: push.deliverBefore?.getTime(),
        notifyTo: push.notifyTo,
        source,
        submittedBy: caller.pi,
        messageIdentity: newMessageIdentity(),
      });
    } catch (err) {
      if (err instanceof AgentError && err.code === ErrorCodes.DUPLICATE_PUSH_ID) {
        this.counters.rejected += 1;
        return reply(PapCode.DUPLICATE_PUSH_ID, `push-id ${push.pushId} already used`);
      }
      log.error({ err }, 'store insert failed');
      this.writes.noteFailure(err);
      return reply(PapCode.SERVICE_FAILURE, 'Could not persist the push');
    }
    this.counters.accepted += 1;
    // A push due later is re-read from the store when due: its body is not kept in memory meanwhile.
    if (!(after !== undefined && after > this.now())) this.submissions.set(push.pushId, detached(push));
    this.schedule(push.pushId, after);
    return reply(PapCode.ACCEPTED_FOR_PROCESSING, undefined, {}, { stage: 'accepted', note: 'delivering over SIP' });
  }

  /** PAP cancel-message: only a push not yet on the wire can be cancelled (else 2008); only by its own PI. */
  cancel(pushId: string, version: PapVersion = '2.0', caller: IntakeCaller = ANONYMOUS_CALLER): IntakeReply {
    const record = this.recordFor(pushId, caller);
    let code: number = PapCode.OK;
    let desc: string | undefined;
    const state = record && this.visibleState(record);
    if (!record) code = PapCode.PUSH_ID_NOT_FOUND;
    else if (state !== 'accepted') {
      code = PapCode.CANCELLATION_NOT_POSSIBLE;
      desc = `Cancellation not possible: push is ${state}`;
    } else {
      // The synchronous transition commits any queued group-commit work first, so a `delivering` or
      // terminal change still in the batch wins and this compare-and-set fails (→ 2008).
      try {
        this.finishNow(record, 'cancelled', { reason: 'cancelled by the PI' });
        this.clearTimer(pushId);
        this.counters.cancelled += 1;
      } catch {
        code = PapCode.CANCELLATION_NOT_POSSIBLE;
      }
    }
    return {
      httpStatus: 200,
      headers: {},
      contentType: 'application/xml',
      body: buildCancelResponse({ pushId, version, results: [{ code, desc, addresses: record ? [record.address] : undefined }] }),
    };
  }

  /** PAP statusquery-message: the push's state as a PAP message-state (its own PI's pushes only). */
  statusQuery(pushId: string, version: PapVersion = '2.0', caller: IntakeCaller = ANONYMOUS_CALLER): IntakeReply {
    const record = this.recordFor(pushId, caller);
    const results = record
      ? [
          {
            address: record.address,
            ...papStateView(this.visibleState(record), record.reason, record),
            eventTime: new Date(record.updatedAt),
          },
        ]
      : [{ messageState: 'unknown' as const, code: PapCode.PUSH_ID_NOT_FOUND }];
    return {
      httpStatus: 200,
      headers: {},
      contentType: 'application/xml',
      body: buildStatusQueryResponse({ pushId, version, results, senderName: this.options.senderName }),
    };
  }

  /**
   * The outbox calls this when an item ended (inside the transaction that records the ending). For a
   * hand-back the PPG's answer decides the push's terminal state: 1000/1001 → handed-back, a refusal →
   * hand-back-refused with the PPG's code and description, the give-up rule → hand-back-abandoned. The PI
   * hears about it from whoever owns that outcome (see {@link resultNotification}).
   */
  onOutboxSettled(item: OutboxItem, settlement: OutboxSettlement): void {
    this.countOutboxOutcome(item.kind, settlement.outcome);
    if (item.kind !== 'hand-back') return;
    const record = this.options.store.get(item.pushId);
    if (record?.state !== 'handing-back') return;
    switch (settlement.outcome) {
      case 'acknowledged':
        this.finishNow(record, 'handed-back', { reason: record.reason, bearerHint: record.bearerHint, papCode: settlement.code });
        return;
      case 'refused':
        this.finishNow(record, 'hand-back-refused', {
          reason: `PPG refused the hand-back: PAP ${settlement.code} ${settlement.desc}`,
          bearerHint: record.bearerHint,
          papCode: settlement.code,
        });
        return;
      case 'gave-up':
        this.finishNow(record, 'hand-back-abandoned', {
          reason: `PPG never acknowledged the hand-back: ${settlement.error}`,
          bearerHint: record.bearerHint,
        });
        return;
    }
  }

  /** The stored state, except that a push whose MESSAGE is on the wire reads `delivering` already. */
  private visibleState(record: PushRecord): PushState {
    return record.state === 'accepted' && this.onWire.has(record.pushId) ? 'delivering' : record.state;
  }

  private syncHandBack(
    reply: (code: number, desc?: string, extra?: Partial<IntakeReply>, note?: { stage: string; note?: string }) => IntakeReply,
    push: { pushId: string; aor: string },
    hint: string,
    reason: string,
  ): IntakeReply {
    this.countHandBack(hint, 'sync');
    // The PPG keeps the push, but an SMS hint for a user whose number nobody knows is no use to it: say so.
    const problem = this.handBackAddressProblem(push.aor, hint);
    if (problem !== undefined) this.countOutboxOutcome('hand-back', 'not-possible');
    this.logOutcome({ ...push, outcome: 'handed-back', reason, bearerHint: hint, mode: 'sync' });
    return reply(
      PapCode.REQUIRED_BEARER_NOT_AVAILABLE,
      `SIP bearer not available (${reason}); bearer hint: ${hint}${problem === undefined ? '' : `; ${problem}`}`,
      { headers: { [BEARER_HINT_HEADER]: hint } },
      { stage: 'handed-back', note: `bearer-hint=${hint}` },
    );
  }

  /** Why no address the PPG could route over `hint` is known for `aor` ("no MSISDN for SMS hand-back"), if so. */
  private handBackAddressProblem(aor: string, hint: string): string | undefined {
    try {
      handBackAddress(papAddressForAor(aor), aor, hint, this.ppg);
      return undefined;
    } catch (err) {
      if (err instanceof AgentError && err.code === ErrorCodes.HAND_BACK_NOT_POSSIBLE) return err.message;
      throw err;
    }
  }

  private badMessage(err: unknown, body: Buffer): IntakeReply {
    this.counters.rejected += 1;
    const code = err instanceof AgentError ? papCodeForError(err.code) : PapCode.BAD_REQUEST;
    const papCode = code === PapCode.VERSION_NOT_SUPPORTED ? code : code === PapCode.NOT_IMPLEMENTED ? code : PapCode.BAD_REQUEST;
    return {
      httpStatus: 400,
      headers: {},
      contentType: 'application/xml',
      body: buildBadMessageResponse({ code: papCode, desc: (err as Error).message, badMessageFragment: body.subarray(0, 256) }),
    };
  }

  private schedule(pushId: string, deliverAfter: number | undefined): void {
    if (deliverAfter !== undefined && deliverAfter > this.now()) this.scheduled.add(pushId, deliverAfter);
    else this.queue.push(() => this.deliver(pushId));
  }

  private clearTimer(pushId: string): void {
    this.scheduled.remove(pushId);
  }

  private submissionOf(record: PushRecord): PushSubmission {
    const cached = this.submissions.get(record.pushId);
    if (cached) return cached;
    const request = parsePapRequest(record.requestContentType, record.requestBody);
    if (request.kind !== 'push') throw new Error(`stored request for ${record.pushId} is not a push-message`);
    return request.push;
  }

  /**
   * One delivery attempt: MESSAGE → final response → terminal state, hand-back or unconfirmed.
   *
   * `accepted → delivering` is committed (group commit, shared fsync) BEFORE the MESSAGE leaves: after
   * a crash the store then knows which pushes may have reached a handset (their `sip_attempts`), and a
   * resend carries the identity stored at intake. Meanwhile {@link onWire} answers cancel (2008) and
   * status query. The outcome's transition names `delivering` as its compare-and-set origin.
   */
  private async deliver(pushId: string): Promise<void> {
    const { store, engine, oracle, profile } = this.options;
    const record = store.get(pushId);
    if (record?.state !== 'accepted' || this.onWire.has(pushId)) {
      this.submissions.delete(pushId);
      return;
    }
    const log = this.log.child({ pushId, aor: record.aor });
    try {
      if (record.deliverBefore !== undefined && record.deliverBefore <= this.now()) {
        await this.finish(record, 'accepted', 'expired', { reason: 'deliver-before-timestamp passed before delivery' });
        this.counters.expired += 1;
        return;
      }
      const push = this.submissionOf(record);
      const aor = record.aor ?? mapAddressToAor(record.address, profile).aor;
      const probe = buildPushMessageRequest(push, aor, profile);
      const transport = messageTransportFor(estimateRequestBytes(probe), profile);
      if (transport === 'hand-back') {
        await this.handBack(record, 'accepted', push, profile.handBack.defaultBearer, 'content too large for UDP');
        return;
      }
      const request = buildPushMessageRequest(push, aor, profile, { transport, identity: record.messageIdentity ?? newMessageIdentity() });
      this.onWire.add(pushId);
      // Held (slot kept, nothing sent) while the disk refuses writes; sent once it is recorded.
      await this.writes.run(() => store.transitionDurable(pushId, 'delivering', {}, { expectedFrom: 'accepted' }));
      // An earlier copy may have left before a crash: a failure answer to this one proves nothing.
      const resent = record.sipAttempts > 0;
      const core = this.options.coreHealth;
      const coreBefore = core && { up: core.state === 'up', downs: core.downs };
      let outcome: DeliveryOutcome;
      let failureKind: 'timeout' | 'transport' | undefined;
      try {
        const response = await engine.request(request);
        outcome = outcomeOfStatus(response.status, response.reason, resent);
      } catch (err) {
        if (err instanceof AgentError && err.code === ErrorCodes.BODY_NOT_CARRIED) {
          // Accepted under another engine (intake refuses this now): nothing was sent and the user's
          // reachability is unchanged, so hand the push back for another bearer.
          await this.handBack(record, 'delivering', push, this.hintFor(push, profile.handBack.defaultBearer), err.message);
          return;
        }
        if (!(err instanceof SipRequestError)) throw err;
        failureKind = err.kind;
        outcome = outcomeOfError(err);
      }
      // Counted only when the MESSAGE left the agent.
      if (!(outcome.kind === 'failed' && outcome.beforeSend)) this.counters.messagesSent += 1;
      // Known alive = up when the MESSAGE left, up now, and not down in between (failure-attribution.ts).
      const coreAlive = !core || !coreBefore || (coreBefore.up && core.state === 'up' && core.downs === coreBefore.downs);
      oracle.recordDelivery(aor, {
        ...(outcome.status !== undefined && { status: outcome.status }),
        ...(failureKind && { failure: failureKind }),
        coreAlive,
      });
      if (outcome.kind === 'delivered') {
        await this.finish(record, 'delivering', 'delivered', { sipStatus: outcome.status, reason: `SIP ${outcome.status}` });
        this.counters.delivered += 1;
        log.debug({ status: outcome.status }, 'delivered');
        return;
      }
      if (outcome.kind === 'unconfirmed' && profile.delivery.whenUnconfirmed === 'report') {
        // The PI learns `unknown` and decides; the agent does not risk a second copy over another bearer.
        await this.finish(record, 'delivering', 'unconfirmed', { sipStatus: outcome.status, reason: outcome.reason });
        this.counters.unconfirmed += 1;
        log.info({ status: outcome.status, reason: outcome.reason }, 'MESSAGE unconfirmed: reported');
        return;
      }
      const verdict = await oracle.decide(aor);
      const hint = this.hintFor(push, verdict.bearerHint);
      await this.handBack(record, 'delivering', push, hint, outcome.reason, outcome.status);
      if (outcome.kind === 'unconfirmed') this.counters.unconfirmedHandedBack += 1;
      log.info(
        { status: outcome.status, hint, failure: outcome.reason, outcome: outcome.kind },
        'SIP delivery not confirmed: handing back',
      );
    } catch (err) {
      if (err instanceof AgentError && err.code === ErrorCodes.PUSH_STATE_CONFLICT) {
        // Someone else (an admin tool, a resume) moved the push meanwhile; theirs stands.
        log.warn({ err }, 'push changed state during delivery; outcome not recorded');
      } else {
        // A programming or storage error: the push stays non-terminal and resumes after a restart.
        log.error({ err }, 'delivery failed unexpectedly');
      }
    } finally {
      this.onWire.delete(pushId);
      this.submissions.delete(pushId);
    }
  }

  /** The PI's own bearer when it named a non-SIP one, else the given hint (presence or profile default). */
  private hintFor(push: PushSubmission, fallback: string): string {
    const requested = push.qos.bearer;
    return requested && !SIP_BEARERS.has(requested.toLowerCase()) ? requested : fallback;
  }

  /**
   * accepted|delivering → handing-back, with the hand-back POST queued in the same (group) commit. The
   * hand-back is PAP the configured PPG accepts, addressed so it can route it over the hint; when no such
   * hand-back exists (an SMS hint and no MSISDN known) the push ends `hand-back-refused` at once with
   * that reason rather than being handed back blindly. The POST carries no push-level HTTP headers.
   */
  private async handBack(
    record: PushRecord,
    from: PushState,
    push: PushSubmission,
    hint: string,
    reason: string,
    sipStatus?: number,
  ): Promise<void> {
    let handBack: ReturnType<typeof buildHandBackPush>;
    try {
      handBack = buildHandBackPush(push, {
        bearerHint: hint,
        address: handBackAddress(record.address, record.aor, hint, this.ppg),
        papVersion: this.ppg.papVersion,
        ...(this.ppg.sendsResultNotifications && push.notifyTo !== undefined ? { notifyTo: push.notifyTo } : {}),
        ...(this.ppg.network !== undefined ? { network: this.ppg.network } : {}),
      });
    } catch (err) {
      if (!(err instanceof AgentError && err.code === ErrorCodes.HAND_BACK_NOT_POSSIBLE)) throw err;
      this.log.warn({ pushId: record.pushId, hint, why: err.message }, 'no hand-back the PPG could route: push ends hand-back-refused');
      await this.finish(record, from, 'hand-back-refused', { reason: `${err.message} (${reason})`, bearerHint: hint, sipStatus });
      this.countOutboxOutcome('hand-back', 'not-possible');
      return;
    }
    await this.writes.run(() =>
      this.options.store.transitionDurable(
        record.pushId,
        'handing-back',
        { reason, bearerHint: hint, sipStatus },
        {
          expectedFrom: from,
          outbox: { kind: 'hand-back', url: this.options.handBackUrl, contentType: handBack.contentType, body: handBack.body },
        },
      ),
    );
    this.countHandBack(hint, 'async');
    this.options.onOutboxQueued?.();
  }

  /** `from` → terminal `to` through the group commit, with the PAP result notification in the same commit. */
  private async finish(record: PushRecord, from: PushState, to: PushState, detail: TerminalDetail): Promise<void> {
    const outbox = this.resultNotification(record, to, detail);
    // Retried until it commits: an outcome lost to a full disk would leave the push `delivering` and
    // have it sent again after a restart.
    await this.writes.run(() => this.options.store.transitionDurable(record.pushId, to, detail, { expectedFrom: from, outbox }));
    this.logOutcome({ pushId: record.pushId, aor: record.aor, outcome: to, ...detail });
    if (outbox) this.options.onOutboxQueued?.();
  }

  /** {@link finish} in one synchronous transaction (cancel, and inside the outbox's acknowledgement). */
  private finishNow(record: PushRecord, to: PushState, detail: TerminalDetail): void {
    const outbox = this.resultNotification(record, to, detail);
    this.options.store.transition(record.pushId, to, detail, { expectedFrom: record.state, outbox });
    this.logOutcome({ pushId: record.pushId, aor: record.aor, outcome: to, ...detail, ...(to === 'handed-back' ? { mode: 'async' } : {}) });
    if (outbox) this.options.onOutboxQueued?.();
  }

  /**
   * The one line per outcome an operator greps for: push id, user, outcome and why (bearer hint and SIP
   * status when there are any). Synchronous hand-backs (PAP 3010) log here too; they store no row.
   */
  private logOutcome(line: {
    pushId: string;
    aor: string | undefined;
    outcome: string;
    reason?: string | undefined;
    bearerHint?: string | undefined;
    sipStatus?: number | undefined;
    mode?: string;
  }): void {
    const level = this.options.outcomeLogLevel ?? 'info';
    this.log[level](line, `push ${line.pushId} ${line.outcome}: ${line.reason ?? ''}`.trimEnd());
  }

  /**
   * The PAP result notification owed for a terminal state, when the PI asked for one. Exactly one party
   * notifies the PI per push: the agent for every outcome it owns (delivered, expired, cancelled, a
   * refused or abandoned hand-back), and for handed-back unless the PPG is configured to notify
   * (`ppg.sendsResultNotifications`; the hand-back then carried the PI's notify URL instead).
   */
  private resultNotification(record: PushRecord, to: PushState, detail: TerminalDetail): NewOutboxItem | undefined {
    if (!isTerminal(to)) throw new Error(`finish() needs a terminal state, got ${to}`);
    if (to === 'handed-back' && this.ppg.sendsResultNotifications) return undefined;
    const view = papStateView(to, detail.reason, { papCode: detail.papCode, bearerHint: detail.bearerHint ?? record.bearerHint });
    const outbox = record.notifyTo
      ? {
          kind: 'result-notification' as const,
          url: record.notifyTo,
          contentType: 'application/xml',
          body: Buffer.from(
            buildResultNotification({
              pushId: record.pushId,
              address: record.address,
              messageState: view.messageState,
              code: view.code,
              desc: view.desc,
              eventTime: new Date(this.now()),
              receivedTime: new Date(record.createdAt),
              senderName: this.options.senderName,
            }),
            'utf8',
          ),
        }
      : undefined;
    return outbox;
  }
}

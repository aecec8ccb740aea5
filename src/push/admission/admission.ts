/**
 * Admission of one submitted push: validate, dedupe, decide (capability table, SIP core health, size,
 * engine), persist. Returns accepted | handed-back | rejected; the intake edges render it.
 *
 * - Reachable (or unknown when the profile says try) → persisted durably, then queued for delivery.
 * - Not reachable → synchronous hand-back with the bearer hint and **no SIP request at all**.
 * - Anything refused → the catalogue code naming why (PAP code and HTTP status come from it).
 */
import type { Logger } from 'pino';
import type { ReachabilityOracle } from '../../capabilities/reachability-oracle.js';
import { AgentError, ErrorCodes, type ErrorCode } from '../../errors.js';
import type { SipProfile } from '../../profiles/schema.js';
import type { SipEngine } from '../../sip/port.js';
import { mapAddressToAor } from '../address.js';
import type { PushCounters } from '../counters.js';
import type { DeliveryLane } from '../delivery/delivery-lane.js';
import { newMessageIdentity } from '../delivery/message-identity.js';
import { buildPushMessageRequest, estimateRequestBytes, messageTransportFor } from '../delivery/sip-message-builder.js';
import type { Outcomes } from '../outcome/outcomes.js';
import type { PushSubmission } from '../pap/pap-types.js';
import { hintFor, requiresOtherBearer, type CoreHealthView, type IntakeCaller } from '../push-settings.js';
import type { PushRecord, PushSource } from '../store/push-record.js';
import type { PushStorePort } from '../store/push-store-port.js';
import { isStorageError, type WriteRetry } from '../store/write-retry.js';
import type { AdmissionResult } from './admission-result.js';
import { engineLimitFor } from './engine-limits.js';
import { windowProblem } from './push-checks.js';

export interface AdmissionOptions {
  store: PushStorePort;
  engine: SipEngine;
  oracle: ReachabilityOracle;
  profile: SipProfile;
  policy: 'presence-aware' | 'always-sip';
  maxScheduled: number;
  lane: DeliveryLane;
  writes: WriteRetry;
  outcomes: Outcomes;
  counters: PushCounters;
  coreHealth: CoreHealthView | undefined;
  notifyAllowed: ((pi: string, url: string) => boolean) | undefined;
  isAccepting: () => boolean;
  log: Logger;
  now: () => number;
}

export class Admission {
  constructor(private readonly o: AdmissionOptions) {}

  /**
   * Intake of one parsed push; `rawContentType`/`rawBody` are persisted for resume. Room in the delivery
   * lane is taken first and held until the push is queued or refused, so `limits.maxInFlight +
   * limits.maxQueued` bounds what is accepted even when a burst arrives at once.
   */
  async admit(
    push: PushSubmission,
    rawContentType: string,
    rawBody: Buffer,
    source: PushSource,
    caller: IntakeCaller,
  ): Promise<AdmissionResult> {
    const { o } = this;
    if (!o.isAccepting() || !o.lane.reserveRoom()) {
      o.counters.overloaded += 1;
      return {
        kind: 'rejected',
        pushId: push.pushId,
        code: ErrorCodes.SERVICE_UNAVAILABLE,
        reason: o.isAccepting() ? 'Overloaded: try again shortly' : 'Shutting down',
      };
    }
    try {
      return await this.admitWithRoom(push, rawContentType, rawBody, source, caller);
    } finally {
      o.lane.releaseRoom();
    }
  }

  private async admitWithRoom(
    push: PushSubmission,
    rawContentType: string,
    rawBody: Buffer,
    source: PushSource,
    caller: IntakeCaller,
  ): Promise<AdmissionResult> {
    const { o } = this;
    const { pushId } = push;
    const reject = (code: ErrorCode, reason?: string, field?: string): AdmissionResult => {
      o.counters.rejected += 1;
      return { kind: 'rejected', pushId, code, ...(reason !== undefined && { reason }), ...(field !== undefined && { field }) };
    };
    const refuse = (code: ErrorCode, reason: string): AdmissionResult => ({ kind: 'rejected', pushId, code, reason });

    if (push.notifyTo !== undefined && o.notifyAllowed && !o.notifyAllowed(caller.pi, push.notifyTo)) {
      // A valid request this PI may not make (its notify destinations are allow-listed).
      const why = `ppg-notify-requested-to: ${push.notifyTo} is not an allowed notification destination for this PI`;
      return reject(ErrorCodes.NOTIFY_DESTINATION_FORBIDDEN, why, 'ppg-notify-requested-to');
    }
    if (!o.writes.writable) {
      o.counters.storeUnwritable += 1;
      return refuse(ErrorCodes.STORE_UNWRITABLE, 'Push store cannot write (disk full or failing): try again later');
    }
    if (push.addresses.length !== 1) return reject(ErrorCodes.MULTIPLE_ADDRESSES, 'One address per push-message', 'address');
    const address = push.addresses[0] as string;
    let aor: string;
    try {
      aor = mapAddressToAor(address, o.profile).aor;
    } catch (err) {
      // Only a mapping refusal is the PI's address error; anything else is ours (the caller logs it).
      if (!(err instanceof AgentError && err.code === ErrorCodes.ADDRESS_INVALID)) throw err;
      return reject(ErrorCodes.ADDRESS_NOT_MAPPED, err.message, 'address');
    }
    let seen: boolean;
    try {
      seen = (await o.store.get(pushId)) !== undefined;
    } catch (err) {
      // The store cannot be read (PostgreSQL unreachable): nothing is accepted; the probe notices its return.
      if (!isStorageError(err)) throw err;
      o.writes.noteFailure(err);
      o.counters.storeUnwritable += 1;
      return refuse(ErrorCodes.STORE_UNWRITABLE, 'Push store unreachable: try again later');
    }
    if (seen) return reject(ErrorCodes.DUPLICATE_PUSH_ID, `push-id ${pushId} already used`, 'push-id');
    if (push.replacePushId !== undefined) return reject(ErrorCodes.REPLACEMENT_NOT_SUPPORTED, undefined, 'replace-push-id');
    const window = windowProblem(push, o.now());
    if (window) return reject(ErrorCodes.DELIVERY_WINDOW_INVALID, window, 'deliver-before-timestamp');
    const after = push.deliverAfter?.getTime();
    if (o.lane.isLater(after) && o.lane.scheduledCount >= o.maxScheduled) {
      o.counters.scheduleFull += 1;
      return refuse(ErrorCodes.SCHEDULE_FULL, `Too many scheduled pushes (limits.maxScheduled = ${o.maxScheduled}): try again later`);
    }
    const handBack = (hint: string, reason: string): AdmissionResult => {
      const problem = o.outcomes.syncHandBack(pushId, aor, hint, reason);
      const progressNote = { stage: 'handed-back', note: `bearer-hint=${hint}` };
      return { kind: 'handed-back', pushId, hint, reason, ...(problem !== undefined && { problem }), progressNote };
    };
    const defaultBearer = o.profile.handBack.defaultBearer;

    // A PI that insists on another bearer (PAP 2.0 quality-of-service bearer-required) goes back at once.
    const requested = push.qos.bearer;
    if (requiresOtherBearer(requested, push.qos.bearerRequired)) return handBack(requested, `bearer ${requested} required by the PI`);
    // A core known down gets nothing: the PPG takes the push now rather than after Timer F (RFC 3261
    // §17.1.2.2), and no SIP is spent — not even presence.
    if (o.coreHealth?.state === 'down') {
      o.counters.coreDown += 1;
      return handBack(hintFor(requested, defaultBearer), 'SIP core unreachable');
    }
    if (o.policy === 'presence-aware') {
      const verdict = await o.oracle.decide(aor);
      const tryUnknown = o.profile.presence.whenUnknown === 'try-sip';
      if (verdict.reachability === 'unreachable' || (verdict.reachability === 'unknown' && !tryUnknown)) {
        return handBack(verdict.bearerHint, verdict.reason);
      }
    }
    // RFC 3428 §9: a MESSAGE over 1300 bytes needs a congestion-controlled transport.
    let probe: ReturnType<typeof buildPushMessageRequest>;
    try {
      probe = buildPushMessageRequest(push, aor, o.profile);
    } catch (err) {
      // e.g. an X-Wap-Application-Id that cannot become a feature-tag value (found by the intake fuzz test).
      if (!(err instanceof AgentError)) throw err;
      return reject(err.code, err.message, err.field);
    }
    if (messageTransportFor(estimateRequestBytes(probe), o.profile) === 'hand-back') {
      return handBack(defaultBearer, 'content too large for UDP and the profile forbids TCP');
    }
    // What the engine can never send is refused now, with nothing stored and nothing sent.
    const limit = engineLimitFor(push.content.body, push.content.contentType, o.engine);
    if (limit) {
      o.log.info({ pushId, aor, limit }, 'engine cannot carry the content: handed back');
      o.counters.handedBackEngineLimit += 1;
      return handBack(hintFor(requested, defaultBearer), limit);
    }
    let stored: PushRecord;
    try {
      // Group commit: resolves once the row is on disk, shared with concurrent intakes.
      stored = await o.store.insert({
        pushId,
        address,
        aor,
        requestContentType: rawContentType,
        requestBody: rawBody,
        deliverAfter: after,
        deliverBefore: push.deliverBefore?.getTime(),
        notifyTo: push.notifyTo,
        source,
        submittedBy: caller.pi,
        messageIdentity: newMessageIdentity(),
      });
    } catch (err) {
      if (err instanceof AgentError && err.code === ErrorCodes.DUPLICATE_PUSH_ID) {
        return reject(ErrorCodes.DUPLICATE_PUSH_ID, `push-id ${pushId} already used`, 'push-id');
      }
      o.log.error({ err, pushId }, 'store insert failed');
      o.writes.noteFailure(err);
      return refuse(ErrorCodes.PUSH_NOT_PERSISTED, 'Could not persist the push');
    }
    o.counters.accepted += 1;
    // A push due later is re-read from the store when due: its body is not kept in memory meanwhile. One
    // due now takes its record along (without the body: the submission carries the content).
    const { requestBody: _body, ...record } = stored;
    o.lane.schedule(pushId, after, push, record);
    return { kind: 'accepted', pushId, progressNote: { stage: 'accepted', note: 'delivering over SIP' } };
  }
}

/**
 * One delivery attempt: MESSAGE (RFC 3428) → final response → terminal state, hand-back or unconfirmed.
 *
 * `accepted → delivering` is committed (group commit, shared fsync) BEFORE the MESSAGE leaves: after a
 * crash the store then knows which pushes may have reached a handset (their `sip_attempts`), and a
 * resend carries the identity stored at intake. Meanwhile {@link DeliveryAttempts.onWire} answers cancel
 * (2008) and status query. The outcome's transition names `delivering` as its compare-and-set origin.
 */
import type { Logger } from 'pino';
import type { ReachabilityOracle } from '../../capabilities/reachability-oracle.js';
import { AgentError, ErrorCodes } from '../../errors.js';
import { countInternalError } from '../../lib/internal-errors.js';
import type { SipProfile } from '../../profiles/schema.js';
import { SipRequestError, type SipEngine } from '../../sip/port.js';
import { mapAddressToAor } from '../address.js';
import type { PushCounters } from '../counters.js';
import type { Outcomes } from '../outcome/outcomes.js';
import { parsePapRequest } from '../pap/pap-parser.js';
import type { PushSubmission } from '../pap/pap-types.js';
import { hintFor, type CoreHealthView } from '../push-settings.js';
import type { PushRecord, PushSummary } from '../store/push-record.js';
import type { PushState } from '../store/push-state.js';
import type { PushStorePort } from '../store/push-store-port.js';
import { isStorageError, type WriteRetry } from '../store/write-retry.js';
import { outcomeOfError, outcomeOfStatus, type DeliveryOutcome } from './delivery-outcome.js';
import type { DeliveryLane } from './delivery-lane.js';
import { newMessageIdentity } from './message-identity.js';
import { buildPushMessageRequest, estimateRequestBytes, messageTransportFor, pinTransport } from './sip-message-builder.js';

export interface DeliveryAttemptsOptions {
  store: PushStorePort;
  engine: SipEngine;
  oracle: ReachabilityOracle;
  profile: SipProfile;
  writes: WriteRetry;
  outcomes: Outcomes;
  counters: PushCounters;
  coreHealth: CoreHealthView | undefined;
  log: Logger;
  now: () => number;
}

export class DeliveryAttempts {
  /** Pushes whose MESSAGE is on the wire (their `delivering` row may still be in the group commit). */
  private readonly onWire = new Set<string>();
  /** Set once the lane exists (the lane calls {@link attempt}). */
  lane!: DeliveryLane;

  constructor(private readonly o: DeliveryAttemptsOptions) {}

  /** The stored state, except that a push whose MESSAGE is on the wire reads `delivering` already. */
  visibleState(record: PushSummary): PushState {
    return record.state === 'accepted' && this.onWire.has(record.pushId) ? 'delivering' : record.state;
  }

  /**
   * Reads a due push. While the store cannot be read (PostgreSQL unreachable) the read is retried with
   * backoff, holding this delivery slot, so the push waits for the store instead of being dropped until a
   * restart; the store is marked failing meanwhile (intake answers 4001). Not through WriteRetry.run: a
   * read that succeeds says nothing about whether writes commit again (a full disk still reads).
   */
  private async readDue(pushId: string): Promise<PushRecord | undefined> {
    for (let delay = 100; ; delay = Math.min(delay * 2, 2000)) {
      try {
        return await this.o.store.get(pushId);
      } catch (err) {
        if (!isStorageError(err)) throw err;
        this.o.writes.noteFailure(err);
      }
      await new Promise((resolve) => setTimeout(resolve, delay).unref());
    }
  }

  async attempt(pushId: string): Promise<void> {
    const { store, profile, outcomes } = this.o;
    // A push intake just stored is not read back: its record and submission came with it. Were it cancelled
    // meanwhile, the compare-and-set of its next move refuses (cancel also drops this cache).
    const cached = this.lane.cached(pushId);
    const record = cached?.record ?? (await this.readDue(pushId));
    if (record?.state !== 'accepted' || this.onWire.has(pushId)) {
      this.lane.forget(pushId);
      return;
    }
    const log = this.o.log.child({ pushId, aor: record.aor });
    try {
      if (record.deliverBefore !== undefined && record.deliverBefore <= this.o.now()) {
        await outcomes.finish(record, 'accepted', 'expired', { reason: 'deliver-before-timestamp passed before delivery' });
        this.o.counters.expired += 1;
        return;
      }
      const push = cached?.push ?? this.submissionOf(record as PushRecord);
      const aor = record.aor ?? mapAddressToAor(record.address, profile).aor;
      // Built once: measured for the transport (RFC 3428 §9), then sent as is.
      const request = buildPushMessageRequest(push, aor, profile, { identity: record.messageIdentity ?? newMessageIdentity() });
      const transport = messageTransportFor(estimateRequestBytes(request), profile);
      if (transport === 'hand-back') {
        await outcomes.handBack(record, 'accepted', push, profile.handBack.defaultBearer, 'content too large for UDP');
        return;
      }
      pinTransport(request, transport, profile);
      this.onWire.add(pushId);
      // Held (slot kept, nothing sent) while the disk refuses writes; sent once it is recorded.
      await this.o.writes.run(() => store.transition(pushId, 'delivering', {}, { expectedFrom: 'accepted' }));
      await this.send(record, push, aor, request, log);
    } catch (err) {
      if (err instanceof AgentError && err.code === ErrorCodes.PUSH_STATE_CONFLICT) {
        // Someone else (an admin tool, a resume) moved the push meanwhile; theirs stands.
        log.warn({ err }, 'push changed state during delivery; outcome not recorded');
      } else {
        // A programming or storage error: the push stays non-terminal and resumes after a restart.
        countInternalError('push:delivery-attempt', err);
        log.error({ err }, 'delivery failed unexpectedly');
      }
    } finally {
      this.onWire.delete(pushId);
      this.lane.forget(pushId);
    }
  }

  private async send(
    record: PushSummary,
    push: PushSubmission,
    aor: string,
    request: ReturnType<typeof buildPushMessageRequest>,
    log: Logger,
  ): Promise<void> {
    const { engine, oracle, profile, outcomes, counters } = this.o;
    // An earlier copy may have left before a crash: a failure answer to this one proves nothing.
    const resent = record.sipAttempts > 0;
    const core = this.o.coreHealth;
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
        await outcomes.handBack(record, 'delivering', push, hintFor(push.qos.bearer, profile.handBack.defaultBearer), err.message);
        return;
      }
      if (!(err instanceof SipRequestError)) throw err;
      failureKind = err.kind;
      outcome = outcomeOfError(err);
    }
    // Counted only when the MESSAGE left the agent.
    if (!(outcome.kind === 'failed' && outcome.beforeSend)) counters.messagesSent += 1;
    // Known alive = up when the MESSAGE left, up now, and not down in between (failure-attribution.ts).
    const coreAlive = !core || !coreBefore || (coreBefore.up && core.state === 'up' && core.downs === coreBefore.downs);
    oracle.recordDelivery(aor, {
      ...(outcome.status !== undefined && { status: outcome.status }),
      ...(failureKind && { failure: failureKind }),
      coreAlive,
    });
    if (outcome.kind === 'delivered') {
      await outcomes.finish(record, 'delivering', 'delivered', { sipStatus: outcome.status, reason: `SIP ${outcome.status}` });
      counters.delivered += 1;
      log.debug({ status: outcome.status }, 'delivered');
      return;
    }
    if (outcome.kind === 'unconfirmed' && profile.delivery.whenUnconfirmed === 'report') {
      // The PI learns `unknown` and decides; the agent does not risk a second copy over another bearer.
      await outcomes.finish(record, 'delivering', 'unconfirmed', { sipStatus: outcome.status, reason: outcome.reason });
      counters.unconfirmed += 1;
      log.info({ status: outcome.status, reason: outcome.reason }, 'MESSAGE unconfirmed: reported');
      return;
    }
    const verdict = await oracle.decide(aor);
    const hint = hintFor(push.qos.bearer, verdict.bearerHint);
    await outcomes.handBack(record, 'delivering', push, hint, outcome.reason, outcome.status);
    if (outcome.kind === 'unconfirmed') counters.unconfirmedHandedBack += 1;
    log.info({ status: outcome.status, hint, failure: outcome.reason, outcome: outcome.kind }, 'SIP delivery not confirmed: handing back');
  }

  private submissionOf(record: PushRecord): PushSubmission {
    const request = parsePapRequest(record.requestContentType, record.requestBody);
    if (request.kind !== 'push') throw new Error(`stored request for ${record.pushId} is not a push-message`);
    return request.push;
  }
}

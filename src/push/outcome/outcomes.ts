/**
 * How a push ends: terminal transitions (with the PI's result notification in the same commit),
 * hand-backs to the PPG (the hand-back POST queued in the same commit), the moves an outbox settlement
 * decides, and the one log line per outcome an operator greps for.
 */
import type { LevelWithSilent, Logger } from 'pino';
import { AgentError, ErrorCodes } from '../../errors.js';
import { handBackAddress, papAddressForAor } from '../address.js';
import type { PushCounting } from '../counters.js';
import type { OutboxSettlement } from '../outbox/outbox-dispatcher.js';
import type { OutboxItem } from '../outbox/outbox-item.js';
import { buildHandBackPush } from '../pap/pap-builder.js';
import type { PushSubmission } from '../pap/pap-types.js';
import type { PpgSettings } from '../push-settings.js';
import type { PushSummary } from '../store/push-record.js';
import type { PushState } from '../store/push-state.js';
import type { PushMove, PushStorePort } from '../store/push-store-port.js';
import type { WriteRetry } from '../store/write-retry.js';
import { resultNotificationFor, type TerminalDetail } from './result-notification.js';

export interface OutcomesOptions {
  store: PushStorePort;
  writes: WriteRetry;
  counting: PushCounting;
  ppg: PpgSettings;
  handBackUrl: string;
  senderName: string | undefined;
  now: () => number;
  log: Logger;
  outcomeLogLevel: LevelWithSilent;
  onOutboxQueued: (() => void) | undefined;
}

export interface OutcomeLine {
  pushId: string;
  aor: string | undefined;
  outcome: string;
  reason?: string | undefined;
  bearerHint?: string | undefined;
  sipStatus?: number | undefined;
  mode?: string;
}

export class Outcomes {
  constructor(private readonly o: OutcomesOptions) {}

  /**
   * `from` → terminal `to` through the group commit, with the result notification in the same commit.
   * Retried until it commits: an outcome lost to a full disk would leave the push `delivering` and have
   * it sent again after a restart.
   */
  async finish(record: PushSummary, from: PushState, to: PushState, detail: TerminalDetail): Promise<void> {
    const outbox = this.notification(record, to, detail);
    await this.o.writes.run(() => this.o.store.transition(record.pushId, to, detail, { expectedFrom: from, outbox }));
    this.logOutcome({ pushId: record.pushId, aor: record.aor, outcome: to, ...detail });
    if (outbox) this.o.onOutboxQueued?.();
  }

  /** {@link finish} once, not retried: the caller answers (cancel) and learns of a store failure. */
  async finishOnce(record: PushSummary, to: PushState, detail: TerminalDetail): Promise<void> {
    const outbox = this.notification(record, to, detail);
    await this.o.store.transition(record.pushId, to, detail, { expectedFrom: record.state, outbox });
    this.logOutcome({ pushId: record.pushId, aor: record.aor, outcome: to, ...detail });
    if (outbox) this.o.onOutboxQueued?.();
  }

  /**
   * accepted|delivering → handing-back, with the hand-back POST queued in the same (group) commit. The
   * hand-back is PAP the configured PPG accepts, addressed so it can route it over the hint; when no such
   * hand-back exists (an SMS hint and no MSISDN known) the push ends `hand-back-refused` at once with
   * that reason rather than being handed back blindly. The POST carries no push-level HTTP headers.
   */
  async handBack(record: PushSummary, from: PushState, push: PushSubmission, hint: string, reason: string, sipStatus?: number) {
    const { ppg } = this.o;
    let handBack: ReturnType<typeof buildHandBackPush>;
    try {
      handBack = buildHandBackPush(push, {
        bearerHint: hint,
        address: handBackAddress(record.address, record.aor, hint, ppg),
        papVersion: ppg.papVersion,
        ...(ppg.sendsResultNotifications && push.notifyTo !== undefined ? { notifyTo: push.notifyTo } : {}),
        ...(ppg.network !== undefined ? { network: ppg.network } : {}),
      });
    } catch (err) {
      if (!(err instanceof AgentError && err.code === ErrorCodes.HAND_BACK_NOT_POSSIBLE)) throw err;
      this.o.log.warn({ pushId: record.pushId, hint, why: err.message }, 'no hand-back the PPG could route: push ends hand-back-refused');
      await this.finish(record, from, 'hand-back-refused', { reason: `${err.message} (${reason})`, bearerHint: hint, sipStatus });
      this.o.counting.outboxOutcome('hand-back', 'not-possible');
      return;
    }
    const outbox = { kind: 'hand-back' as const, url: this.o.handBackUrl, contentType: handBack.contentType, body: handBack.body };
    await this.o.writes.run(() =>
      this.o.store.transition(record.pushId, 'handing-back', { reason, bearerHint: hint, sipStatus }, { expectedFrom: from, outbox }),
    );
    this.o.counting.handBack(hint, 'async');
    this.o.onOutboxQueued?.();
  }

  /**
   * A synchronous hand-back (PAP 3010 at intake, nothing stored): counted and logged here. Returns why
   * the PPG could not route a hand-back over `hint` for `aor` ("no MSISDN for SMS hand-back"), if so.
   */
  syncHandBack(pushId: string, aor: string, hint: string, reason: string): string | undefined {
    this.o.counting.handBack(hint, 'sync');
    const problem = this.handBackAddressProblem(aor, hint);
    if (problem !== undefined) this.o.counting.outboxOutcome('hand-back', 'not-possible');
    this.logOutcome({ pushId, aor, outcome: 'handed-back', reason, bearerHint: hint, mode: 'sync' });
    return problem;
  }

  /**
   * An outbox item ended (inside the commit that records the ending). For a hand-back the PPG's answer
   * decides the push's terminal state: 1000/1001 → handed-back, a refusal → hand-back-refused with the
   * PPG's code and description, the give-up rule → hand-back-abandoned.
   */
  settlementMove(item: OutboxItem, settlement: OutboxSettlement, record: PushSummary | undefined): PushMove | undefined {
    this.o.counting.outboxOutcome(item.kind, settlement.outcome);
    if (item.kind !== 'hand-back' || record?.state !== 'handing-back') return undefined;
    const bearerHint = record.bearerHint;
    switch (settlement.outcome) {
      case 'acknowledged':
        return this.terminalMove(record, 'handed-back', { reason: record.reason, bearerHint, papCode: settlement.code });
      case 'refused':
        return this.terminalMove(record, 'hand-back-refused', {
          reason: `PPG refused the hand-back: PAP ${settlement.code} ${settlement.desc}`,
          bearerHint,
          papCode: settlement.code,
        });
      case 'gave-up':
        return this.terminalMove(record, 'hand-back-abandoned', {
          reason: `PPG never acknowledged the hand-back: ${settlement.error}`,
          bearerHint,
        });
    }
  }

  /** The one line per outcome: push id, user, outcome and why (bearer hint and SIP status when any). */
  logOutcome(line: OutcomeLine): void {
    this.o.log[this.o.outcomeLogLevel](line, `push ${line.pushId} ${line.outcome}: ${line.reason ?? ''}`.trimEnd());
  }

  private terminalMove(record: PushSummary, to: PushState, detail: TerminalDetail): PushMove {
    const outbox = this.notification(record, to, detail);
    return {
      to,
      detail,
      options: { expectedFrom: record.state, outbox },
      after: () => {
        this.logOutcome({
          pushId: record.pushId,
          aor: record.aor,
          outcome: to,
          ...detail,
          ...(to === 'handed-back' ? { mode: 'async' } : {}),
        });
        if (outbox) this.o.onOutboxQueued?.();
      },
    };
  }

  private notification(record: PushSummary, to: PushState, detail: TerminalDetail) {
    const { ppg, senderName, now } = this.o;
    return resultNotificationFor(record, to, detail, { ppgNotifiesHandedBack: ppg.sendsResultNotifications, senderName, now: now() });
  }

  private handBackAddressProblem(aor: string, hint: string): string | undefined {
    try {
      handBackAddress(papAddressForAor(aor), aor, hint, this.o.ppg);
      return undefined;
    } catch (err) {
      if (err instanceof AgentError && err.code === ErrorCodes.HAND_BACK_NOT_POSSIBLE) return err.message;
      throw err;
    }
  }
}

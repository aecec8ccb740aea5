import type { Logger } from 'pino';
import {
  SipRequestError,
  SipStatusError,
  type NotifyEvent,
  type SipSubscription,
  type SubscriptionDelegate,
  type SubscriptionEnded,
  type SubscriptionPhase,
  type SubscriptionState,
} from './port.js';

/** Refresh point for a granted expiry: 90 %, or expires − 30 s for long ones (RFC 6665 §4.1.2.2). */
export function refreshDelaySeconds(expires: number): number {
  return expires > 300 ? expires - 30 : Math.max(1, Math.floor(expires * 0.9));
}

/** What a SUBSCRIBE inside the dialog (a refresh) was answered, reduced to what the lifecycle decides on. */
export interface SubscribeAnswer {
  /** Final status; the engine maps "no answer" to 408 and "could not be sent" to 503. */
  status: number;
  /** `Expires` of the answer: the duration the notifier granted (RFC 6665 §4.1.2.1, §4.2.1.1). */
  expires?: number;
  /** `Min-Expires` of a 423 Interval Too Brief (RFC 6665 §4.2.1.1). */
  minExpires?: number;
}

export interface SubscriberLifecycleSettings {
  readonly delegate: SubscriptionDelegate;
  /** The engine's logger, shared: a dialog logs with its own fields at the call ({@link logFields}), no child each. */
  readonly log: Logger;
  /** The Expires asked for in the first SUBSCRIBE. */
  readonly expires: number;
  /** RFC 3261 T1, read each time Timer N (64·T1) is armed. */
  readonly t1Ms: () => number;
}

/**
 * The engine-independent subscriber state machine of one RFC 6665 subscription: settling `start()`,
 * phases (`notify-wait` → `pending`/`active` → `terminated`), Timer N (§4.1.2.4, §4.1.2.3), refresh
 * before expiry with one 423 → Min-Expires retry (§4.1.2.2), unsubscribe (§4.1.2.3), the
 * `Subscription-State` of each NOTIFY (§4.1.3) and ending exactly once (`onEnded`).
 *
 * A subclass is the wire: how a SUBSCRIBE is sent and how its answers and NOTIFYs arrive.
 */
export abstract class SubscriberLifecycle<Answer extends SubscribeAnswer = SubscribeAnswer> implements SipSubscription {
  abstract readonly id: string;
  protected phaseValue: SubscriptionPhase = 'notify-wait';
  /** The Expires every refresh asks for (raised by a 423's Min-Expires). */
  protected requestedExpires: number;
  protected ended = false;
  protected unsubscribing = false;
  protected readonly delegate: SubscriptionDelegate;
  protected readonly log: Logger;
  private readonly t1Ms: () => number;
  /**
   * One timer per dialog for both deadlines — Timer N and the refresh — armed for the earlier one
   * (a Timeout costs some 200 B of heap; a watcher holds one dialog per watched user).
   */
  private timer?: NodeJS.Timeout;
  private timerNAt?: number;
  private timerNEnded?: SubscriptionEnded;
  private refreshAt?: number;
  private settleStart?: { resolve: (s: SipSubscription) => void; reject: (e: Error) => void };

  protected constructor(settings: SubscriberLifecycleSettings) {
    this.delegate = settings.delegate;
    this.log = settings.log;
    this.requestedExpires = settings.expires;
    this.t1Ms = settings.t1Ms;
  }

  get phase(): SubscriptionPhase {
    return this.phaseValue;
  }

  refresh(): Promise<void> {
    return this.sendRefresh(this.requestedExpires, true);
  }

  /**
   * RFC 6665 §4.1.2.3: SUBSCRIBE with `Expires: 0`; on a 2xx the final NOTIFY is awaited at most
   * Timer N, otherwise the subscription ends at once.
   */
  async unsubscribe(): Promise<void> {
    if (this.ended || this.unsubscribing) return;
    this.unsubscribing = true;
    this.clearTimers();
    const sent = this.sendUnsubscribe();
    if (!sent) {
      this.end({ cause: 'unsubscribed' });
      return;
    }
    const status = await sent;
    if (status !== undefined && status >= 200 && status < 300) {
      this.armTimerN({ cause: 'unsubscribed' });
      return;
    }
    this.end(status === undefined ? { cause: 'unsubscribed' } : { cause: 'unsubscribed', status });
  }

  /** The engine stopped: a pending `start()` rejects, and the subscription ends without signalling. */
  engineStopped(): void {
    this.settleStart?.reject(new SipRequestError('transport', 'engine stopped'));
    this.settleStart = undefined;
    this.end({ cause: 'engine-stopped' });
  }

  /** Context fields of this dialog's log lines. */
  protected logFields(): Record<string, unknown> {
    return { subscription: this.id };
  }

  /** Sends a SUBSCRIBE inside the dialog with this Expires (a refresh); never rejects. */
  protected abstract refreshSubscribe(expires: number): Promise<Answer>;
  /**
   * Sends the unsubscribing SUBSCRIBE (`Expires: 0`); resolves with its final status, or undefined
   * when none is to be reported. Returns undefined when there is no dialog to send it in.
   */
  protected abstract sendUnsubscribe(): Promise<number | undefined> | undefined;
  /** Whether a dialog exists that a refresh can be sent in. */
  protected abstract hasDialog(): boolean;
  /** Lets go of the engine (and of the dialog); called once, when the subscription ends. */
  protected abstract release(): void;
  /** A refresh got a 2xx (before its Expires is applied). */
  protected refreshAccepted(_answer: Answer): void {}

  /** The promise `start()` returns; settled by the first 2xx or NOTIFY (§4.1.2.4), or by a failure. */
  protected pendingStart(): Promise<SipSubscription> {
    return new Promise<SipSubscription>((resolve, reject) => {
      this.settleStart = { resolve, reject };
    });
  }

  /** Whether `start()` has not settled yet. */
  protected get starting(): boolean {
    return this.settleStart !== undefined;
  }

  /**
   * The Expires to retry a SUBSCRIBE with after a 423 (Interval Too Brief, RFC 6665 §4.2.1.1), which is
   * then asked for from now on; undefined when this answer is not retried (only one retry is made).
   */
  protected retryExpiresAfter423(status: number, minExpires: number | undefined, mayRetry: boolean): number | undefined {
    if (status !== 423 || !mayRetry || minExpires === undefined) return undefined;
    this.requestedExpires = minExpires;
    return minExpires;
  }

  /**
   * The SUBSCRIBE creating (or re-creating) the subscription got a 2xx: arm Timer N when no NOTIFY
   * has come yet (RFC 6665 §4.1.2.4), schedule the refresh, settle `start()`.
   */
  protected startAccepted(grantedSeconds: number, awaitingNotify: boolean): void {
    if (awaitingNotify) this.armTimerN({ cause: 'timeout' });
    this.scheduleRefresh(grantedSeconds);
    this.resolveStart();
  }

  /** The SUBSCRIBE creating the subscription got a final non-2xx. */
  protected startRejected(status: number, reason: string, retryAfter: number | undefined): void {
    this.failStart(new SipStatusError(status, reason, retryAfter), status);
  }

  /**
   * The SUBSCRIBE creating the subscription failed: `start()` rejects (no `onEnded`), or, when it has
   * already settled (an early NOTIFY, a re-subscription), the owner hears it through `onEnded`.
   */
  protected failStart(error: SipRequestError | SipStatusError, status?: number): void {
    if (this.settleStart) {
      this.settleStart.reject(error);
      this.settleStart = undefined;
      this.terminate();
      return;
    }
    this.end(status ? { cause: 'rejected', status } : { cause: 'timeout' });
  }

  /**
   * A NOTIFY with this Subscription-State is being accepted (RFC 6665 §4.1.3): Timer N stops, the phase
   * follows the state, and its `expires` reschedules the refresh (not while unsubscribing).
   */
  protected notifyAccepted(state: SubscriptionState): void {
    this.timerNAt = undefined;
    this.timerNEnded = undefined;
    this.arm();
    if (state.state === 'terminated') return;
    this.phaseValue = state.state === 'pending' ? 'pending' : 'active';
    if (state.expires !== undefined && !this.unsubscribing) this.scheduleRefresh(state.expires);
  }

  /**
   * The NOTIFY has been answered 200: `start()` settles (a NOTIFY may precede the 2xx, §4.1.2.4), the
   * owner gets the event, and `terminated` ends the subscription (§4.1.3), as the unsubscribe's own
   * end when one is under way.
   */
  protected notifyDelivered(state: SubscriptionState, event: NotifyEvent): void {
    this.resolveStart();
    this.delegate.onNotify(event);
    if (state.state !== 'terminated') return;
    this.end(
      this.unsubscribing ? { cause: 'unsubscribed' } : { cause: 'notify-terminated', reason: state.reason, retryAfter: state.retryAfter },
    );
  }

  /** Ends the subscription once: phase `terminated`, timers cleared, released, `onEnded` called. */
  protected end(ended: SubscriptionEnded): void {
    if (this.ended) return;
    this.terminate();
    this.log.debug({ ...this.logFields(), cause: ended.cause, status: ended.status }, 'subscription ended');
    this.delegate.onEnded(ended);
  }

  protected clearTimers(): void {
    this.timerNAt = undefined;
    this.timerNEnded = undefined;
    this.refreshAt = undefined;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** (Re-)arms the one timer for the earlier deadline, or none. */
  private arm(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const next = Math.min(this.timerNAt ?? Number.POSITIVE_INFINITY, this.refreshAt ?? Number.POSITIVE_INFINITY);
    if (next === Number.POSITIVE_INFINITY) return;
    this.timer = setTimeout(() => this.fire(), Math.max(0, next - Date.now()));
  }

  private fire(): void {
    this.timer = undefined;
    const now = Date.now();
    if (this.timerNAt !== undefined && this.timerNAt <= now) {
      const ended = this.timerNEnded ?? { cause: 'timeout' };
      this.timerNAt = undefined;
      this.timerNEnded = undefined;
      this.end(ended);
      return;
    }
    if (this.refreshAt !== undefined && this.refreshAt <= now) {
      this.refreshAt = undefined;
      this.arm();
      void this.sendRefresh(this.requestedExpires, true);
      return;
    }
    this.arm(); // woke a little early: wait for the rest
  }

  /** Phase `terminated`, timers cleared, released: the common tail of every way the subscription ends. */
  private terminate(): void {
    this.ended = true;
    this.phaseValue = 'terminated';
    this.clearTimers();
    this.release();
  }

  /** RFC 6665 §4.1.2.2: refresh before expiry; any final failure of the refresh ends the subscription. */
  private async sendRefresh(expires: number, mayRetry423: boolean): Promise<void> {
    if (this.ended || this.unsubscribing || !this.hasDialog()) return;
    this.refreshAt = undefined;
    this.arm();
    const answer = await this.refreshSubscribe(expires);
    if (this.ended || this.unsubscribing) return;
    const retryExpires = this.retryExpiresAfter423(answer.status, answer.minExpires, mayRetry423);
    if (retryExpires !== undefined) {
      await this.sendRefresh(retryExpires, false);
      return;
    }
    const { status } = answer;
    if (status < 200 || status >= 300) {
      this.log.info({ ...this.logFields(), status }, 'subscription refresh failed');
      this.end({ cause: 'refresh-failed', status });
      return;
    }
    this.refreshAccepted(answer);
    const granted = answer.expires ?? expires;
    this.scheduleRefresh(granted);
    this.delegate.onRefreshed?.(granted);
  }

  private scheduleRefresh(grantedSeconds: number): void {
    this.refreshAt = grantedSeconds > 0 ? Date.now() + refreshDelaySeconds(grantedSeconds) * 1000 : undefined;
    this.arm();
  }

  private resolveStart(): void {
    this.settleStart?.resolve(this);
    this.settleStart = undefined;
  }

  /** Timer N, 64·T1 (RFC 6665 §4.1.2.4): ends the subscription this way unless a NOTIFY comes first. */
  private armTimerN(ended: SubscriptionEnded): void {
    this.timerNAt = Date.now() + 64 * this.t1Ms();
    this.timerNEnded = ended;
    this.arm();
  }
}

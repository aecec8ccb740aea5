import type Srf from 'drachtio-srf';
import type { Logger } from 'pino';
import {
  SipRequestError,
  SipStatusError,
  type NotifyEvent,
  type SipSubscription,
  type SubscribeOptions,
  type SubscriptionDelegate,
  type SubscriptionEnded,
  type SubscriptionPhase,
} from '../port.js';
import { parseDeltaSeconds, parseSubscriptionState } from '../embedded/subscription-state.js';
import { refreshDelaySeconds } from '../embedded/subscription-dialog.js';
import { bodyBytes } from './text-body.js';
import { fromSrfHeaders, toSrfHeaders } from './srf-headers.js';

/** What a subscription needs from the drachtio engine. */
export interface DrachtioSubscriptionHost {
  readonly logger: Logger;
  /** RFC 3261 T1, for Timer N (64·T1, RFC 6665 §4.1.2.4). */
  readonly t1Ms: number;
  /** The live Srf, or undefined while disconnected. */
  currentSrf(): Srf | undefined;
  /** `proxy` for srf (a SIP URI), from the subscription's nextHop or the engine's outbound proxy. */
  proxyFor(options: SubscribeOptions): string | undefined;
  /** Called with the Call-ID of every SUBSCRIBE dialog this subscription starts (early NOTIFY lookup). */
  bindCallId(callId: string, subscription: DrachtioSubscription): void;
  detach(subscription: DrachtioSubscription): void;
  countRequest(method: string): void;
  countResponse(status: number): void;
}

type InDialogResult = { status: number; res?: Srf.SrfIncomingResponse };

let nextId = 0;

/**
 * The subscriber side of one RFC 6665 subscription over drachtio-srf.
 *
 * srf gives only the dialog (peers-and-libraries.md §B.1), so this adds: refresh before expiry
 * (§4.1.2.2) with one 423 → Min-Expires retry, Timer N, unsubscribe as an in-dialog SUBSCRIBE with
 * `Expires: 0` (§4.1.2.3; `dialog.destroy()` would send a NOTIFY), its own check of
 * `Subscription-State: terminated` (srf misses it when From ≠ To, lab-facts.md defect B), and
 * re-establishment with a new dialog after a reconnect (dialogs die with the connection).
 */
export class DrachtioSubscription implements SipSubscription {
  readonly id = `drachtio-sub-${++nextId}`;
  private phaseValue: SubscriptionPhase = 'notify-wait';
  private dialog?: Srf.Dialog;
  private requestedExpires: number;
  private ended = false;
  private unsubscribing = false;
  /** A createUAC is in flight (one at a time: no duplicate dialogs). */
  private establishing = false;
  /** Bumped on every connection loss; a createUAC answer from an older connection is discarded. */
  private generation = 0;
  private refreshTimer?: NodeJS.Timeout;
  private timerN?: NodeJS.Timeout;
  private settleStart?: { resolve: (s: SipSubscription) => void; reject: (e: Error) => void };
  private readonly log: Logger;

  constructor(
    private readonly options: SubscribeOptions,
    private readonly delegate: SubscriptionDelegate,
    private readonly host: DrachtioSubscriptionHost,
  ) {
    this.requestedExpires = options.expires;
    this.log = host.logger.child({ subscription: this.id, resource: options.resource });
  }

  get phase(): SubscriptionPhase {
    return this.phaseValue;
  }

  /** Sends the initial SUBSCRIBE; resolves on its 2xx or on a NOTIFY that came first. */
  start(): Promise<SipSubscription> {
    const started = new Promise<SipSubscription>((resolve, reject) => {
      this.settleStart = { resolve, reject };
    });
    this.establish(this.requestedExpires, true);
    return started;
  }

  refresh(): Promise<void> {
    return this.sendRefresh(this.requestedExpires, true);
  }

  async unsubscribe(): Promise<void> {
    if (this.ended || this.unsubscribing) return;
    this.unsubscribing = true;
    this.clearTimers();
    if (!this.dialog) {
      this.end({ cause: 'unsubscribed' });
      return;
    }
    const { status } = await this.inDialogSubscribe(0);
    if (status >= 200 && status < 300) {
      // §4.1.2.3: a final NOTIFY follows; wait for it at most Timer N.
      this.timerN = setTimeout(() => this.end({ cause: 'unsubscribed' }), 64 * this.host.t1Ms);
      return;
    }
    this.end({ cause: 'unsubscribed', status: status || undefined });
  }

  /** The connection to drachtio-server dropped: the dialog is gone; wait for {@link connectionRestored}. */
  connectionLost(): void {
    if (this.ended) return;
    this.clearTimers();
    this.dialog = undefined;
    this.establishing = false;
    this.generation += 1;
    if (this.unsubscribing) this.end({ cause: 'unsubscribed' });
  }

  /** A new connection is up: subscribe again with a new dialog; the delegate sees a fresh NOTIFY. */
  connectionRestored(): void {
    if (this.ended || this.unsubscribing || this.dialog || this.establishing || this.settleStart) return;
    this.log.info('re-subscribing after drachtio reconnect');
    this.phaseValue = 'notify-wait';
    this.establish(this.requestedExpires, true);
  }

  engineStopped(): void {
    this.settleStart?.reject(new SipRequestError('transport', 'engine stopped'));
    this.settleStart = undefined;
    this.end({ cause: 'engine-stopped' });
  }

  /** A NOTIFY in this subscription's dialog (RFC 6665 §4.1.3); also early ones, before the 2xx. */
  handleNotify(req: Srf.SrfRequest, res: Srf.SrfResponse): void {
    const state = parseSubscriptionState(req.get('subscription-state'));
    if (this.ended) return safeSend(res, 481);
    if (!state) return safeSend(res, 400, 'Missing Subscription-State');
    // For a terminating NOTIFY drachtio-server has already answered 500 by itself (defect A); this
    // answer is then dropped by the server, harmlessly.
    safeSend(res, 200);
    clearTimeout(this.timerN);
    if (state.state !== 'terminated') {
      this.phaseValue = state.state === 'pending' ? 'pending' : 'active';
      if (state.expires !== undefined && !this.unsubscribing) this.scheduleRefresh(state.expires);
    }
    this.settleStart?.resolve(this);
    this.settleStart = undefined;
    const event: NotifyEvent = {
      subscriptionState: state,
      contentType: req.get('content-type'),
      body: bodyBytes(req.body),
      headers: fromSrfHeaders(req.headers),
    };
    this.delegate.onNotify(event);
    if (state.state === 'terminated') {
      this.end(this.unsubscribing ? { cause: 'unsubscribed' } : { cause: 'notify-terminated', reason: state.reason, retryAfter: state.retryAfter });
    }
  }

  private establish(expires: number, mayRetry423: boolean): void {
    const srf = this.host.currentSrf();
    if (!srf) {
      this.failStart(new SipRequestError('transport', 'not connected to drachtio-server'));
      return;
    }
    const headers = toSrfHeaders(this.options.headers, {
      From: `<${this.options.from}>`,
      To: `<${this.options.resource}>`,
      Event: this.options.event,
      Expires: String(expires),
      Accept: this.options.accept.join(', '),
    });
    this.host.countRequest('SUBSCRIBE');
    const generation = this.generation;
    this.establishing = true;
    srf.createUAC(
      this.options.resource,
      { method: 'SUBSCRIBE', headers, proxy: this.host.proxyFor(this.options) },
      { cbRequest: (err, req) => !err && req && this.host.bindCallId(req.get('call-id') ?? '', this) },
      (err, dialog) => {
        if (generation !== this.generation) return; // that connection is gone, and its dialogs with it
        this.establishing = false;
        if (this.ended) {
          // Ended (stopped/unsubscribed) while the SUBSCRIBE was in flight: end the new dialog too.
          if (dialog) dialog.request({ method: 'SUBSCRIBE', headers: { Event: this.options.event, Expires: '0' } }, () => srf.removeDialog(dialog));
          return;
        }
        if (err || !dialog) return this.onEstablishFailed(err, expires, mayRetry423);
        this.onEstablished(dialog, expires);
      },
    );
  }

  private onEstablished(dialog: Srf.Dialog, expires: number): void {
    this.host.countResponse(dialog.res.status);
    this.dialog = dialog;
    dialog.on('notify', (req, res) => {
      if (dialog === this.dialog) this.handleNotify(req, res);
      else safeSend(res, 481);
    });
    if (this.phaseValue === 'notify-wait') {
      this.timerN = setTimeout(() => this.end({ cause: 'timeout' }), 64 * this.host.t1Ms);
    }
    this.scheduleRefresh(parseDeltaSeconds(dialog.res.get('expires')) ?? expires);
    this.settleStart?.resolve(this);
    this.settleStart = undefined;
  }

  private onEstablishFailed(err: Error | Srf.SipError | null, expires: number, mayRetry423: boolean): void {
    const sipError = err && 'status' in err && typeof err.status === 'number' ? err : undefined;
    if (!sipError) {
      this.failStart(new SipRequestError('transport', err?.message ?? 'SUBSCRIBE failed', { cause: err }));
      return;
    }
    this.host.countResponse(sipError.status);
    const minExpires = parseDeltaSeconds(sipError.res?.get('min-expires'));
    if (sipError.status === 423 && mayRetry423 && minExpires !== undefined && minExpires > expires) {
      this.requestedExpires = minExpires;
      this.establish(minExpires, false);
      return;
    }
    const retryAfter = parseDeltaSeconds(sipError.res?.get('retry-after'));
    this.failStart(new SipStatusError(sipError.status, sipError.reason ?? '', retryAfter), sipError.status);
  }

  private failStart(error: SipRequestError | SipStatusError, status?: number): void {
    if (this.settleStart) {
      this.settleStart.reject(error);
      this.settleStart = undefined;
      this.ended = true;
      this.phaseValue = 'terminated';
      this.clearTimers();
      this.host.detach(this);
      return;
    }
    // A re-subscription after reconnect failed: the owner hears it through onEnded.
    this.end(status ? { cause: 'rejected', status } : { cause: 'timeout' });
  }

  private async sendRefresh(expires: number, mayRetry423: boolean): Promise<void> {
    if (this.ended || this.unsubscribing || !this.dialog) return;
    clearTimeout(this.refreshTimer);
    const { status, res } = await this.inDialogSubscribe(expires);
    if (this.ended || this.unsubscribing) return;
    const minExpires = parseDeltaSeconds(res?.get('min-expires'));
    if (status === 423 && mayRetry423 && minExpires !== undefined) {
      this.requestedExpires = minExpires;
      await this.sendRefresh(minExpires, false);
      return;
    }
    if (status < 200 || status >= 300) {
      this.log.info({ status }, 'subscription refresh failed');
      this.end({ cause: 'refresh-failed', status });
      return;
    }
    const granted = parseDeltaSeconds(res?.get('expires')) ?? expires;
    this.scheduleRefresh(granted);
    this.delegate.onRefreshed?.(granted);
  }

  /** An in-dialog SUBSCRIBE; resolves with its final status (408 for no answer, 503 when it could not be sent). */
  private inDialogSubscribe(expires: number): Promise<InDialogResult> {
    const dialog = this.dialog;
    if (!dialog) return Promise.resolve({ status: 503 });
    this.host.countRequest('SUBSCRIBE');
    return new Promise<InDialogResult>((resolve) => {
      const guard = setTimeout(() => resolve({ status: 408 }), 64 * this.host.t1Ms + 5000);
      const headers = toSrfHeaders(this.options.headers, {
        Event: this.options.event,
        Expires: String(expires),
        Accept: this.options.accept.join(', '),
      });
      try {
        dialog.request({ method: 'SUBSCRIBE', headers }, (err, res) => {
          clearTimeout(guard);
          if (res) this.host.countResponse(res.status);
          resolve(err || !res ? { status: 503 } : { status: res.status, res });
        });
      } catch (error) {
        clearTimeout(guard);
        this.log.debug({ err: error }, 'in-dialog SUBSCRIBE could not be sent');
        resolve({ status: 503 });
      }
    });
  }

  private scheduleRefresh(grantedSeconds: number): void {
    clearTimeout(this.refreshTimer);
    if (grantedSeconds <= 0) return;
    this.refreshTimer = setTimeout(() => void this.sendRefresh(this.requestedExpires, true), refreshDelaySeconds(grantedSeconds) * 1000);
  }

  private end(ended: SubscriptionEnded): void {
    if (this.ended) return;
    this.ended = true;
    this.phaseValue = 'terminated';
    this.clearTimers();
    const dialog = this.dialog;
    this.dialog = undefined;
    if (dialog) {
      // srf keeps the dialog after a terminating NOTIFY when From ≠ To (defect B): drop it ourselves.
      dialog.connected = false;
      this.host.currentSrf()?.removeDialog(dialog);
      dialog.removeAllListeners();
    }
    this.host.detach(this);
    this.log.debug({ cause: ended.cause, status: ended.status }, 'subscription ended');
    this.delegate.onEnded(ended);
  }

  private clearTimers(): void {
    clearTimeout(this.timerN);
    clearTimeout(this.refreshTimer);
  }
}

function safeSend(res: Srf.SrfResponse, status: number, reason?: string): void {
  try {
    if (!res.finalResponseSent) res.send(status, reason);
  } catch {
    // the server already answered (terminating NOTIFY, defect A) or the connection is gone
  }
}

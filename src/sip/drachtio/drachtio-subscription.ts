import type Srf from 'drachtio-srf';
import type { Logger } from 'pino';
import { SipRequestError, type NotifyEvent, type SipSubscription, type SubscribeOptions, type SubscriptionDelegate } from '../port.js';
import { parseDeltaSeconds, parseSubscriptionState } from '../subscription-state.js';
import { SubscriberLifecycle, type SubscribeAnswer } from '../subscriber-lifecycle.js';
import { bodyBytes } from './text-body.js';
import { fromSrfHeaders, toSrfHeaders } from './srf-headers.js';
import { SentStatus } from '../sent-status.js';

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
 * The subscriber side of one RFC 6665 subscription over drachtio-srf; the lifecycle (refresh before
 * expiry with one 423 → Min-Expires retry, Timer N, ending once) is {@link SubscriberLifecycle}.
 *
 * srf gives only the dialog (docs/interop.md), so this adds: unsubscribe as an in-dialog
 * SUBSCRIBE with `Expires: 0` (RFC 6665 §4.1.2.3; `dialog.destroy()` would send a NOTIFY), its own check
 * of `Subscription-State: terminated` (srf misses it when From ≠ To: docs/interop.md), and
 * re-establishment with a new dialog after a reconnect (dialogs die with the connection).
 */
export class DrachtioSubscription extends SubscriberLifecycle implements SipSubscription {
  override readonly id: string;
  private dialog?: Srf.Dialog;
  /** A createUAC is in flight (one at a time: no duplicate dialogs). */
  private establishing = false;
  /** Bumped on every connection loss; a createUAC answer from an older connection is discarded. */
  private generation = 0;

  constructor(
    private readonly options: SubscribeOptions,
    delegate: SubscriptionDelegate,
    private readonly host: DrachtioSubscriptionHost,
  ) {
    const id = `drachtio-sub-${++nextId}`;
    super({
      delegate,
      log: host.logger,
      expires: options.expires,
      t1Ms: () => host.t1Ms,
    });
    this.id = id;
  }

  /** Sends the initial SUBSCRIBE; resolves on its 2xx or on a NOTIFY that came first. */
  start(): Promise<SipSubscription> {
    const started = this.pendingStart();
    this.establish(this.requestedExpires, true);
    return started;
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
    if (this.ended || this.unsubscribing || this.dialog || this.establishing || this.starting) return;
    this.log.info(this.logFields(), 're-subscribing after drachtio reconnect');
    this.phaseValue = 'notify-wait';
    this.establish(this.requestedExpires, true);
  }

  /** A NOTIFY in this subscription's dialog (RFC 6665 §4.1.3); also early ones, before the 2xx. */
  handleNotify(req: Srf.SrfRequest, res: Srf.SrfResponse): void {
    const state = parseSubscriptionState(req.get('subscription-state'));
    if (this.ended) {
      safeSend(res, SentStatus.noDialog);
      return;
    }
    if (!state) {
      safeSend(res, SentStatus.invalid, 'Missing Subscription-State');
      return;
    }
    // For a terminating NOTIFY drachtio-server has already answered 500 by itself (defect A); this
    // answer is then dropped by the server, harmlessly.
    safeSend(res, 200);
    this.notifyAccepted(state);
    const event: NotifyEvent = {
      subscriptionState: state,
      contentType: req.get('content-type'),
      body: bodyBytes(req.body),
      headers: fromSrfHeaders(req.headers),
    };
    this.notifyDelivered(state, event);
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
          if (dialog)
            dialog.request({ method: 'SUBSCRIBE', headers: { Event: this.options.event, Expires: '0' } }, () => srf.removeDialog(dialog));
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
      else safeSend(res, SentStatus.noDialog);
    });
    this.startAccepted(parseDeltaSeconds(dialog.res.get('expires')) ?? expires, this.phaseValue === 'notify-wait');
  }

  private onEstablishFailed(err: Error | Srf.SipError | null, expires: number, mayRetry423: boolean): void {
    const sipError = err && 'status' in err && typeof err.status === 'number' ? err : undefined;
    if (!sipError) {
      this.failStart(new SipRequestError('transport', err?.message ?? 'SUBSCRIBE failed', { cause: err }));
      return;
    }
    this.host.countResponse(sipError.status);
    const minExpires = parseDeltaSeconds(sipError.res?.get('min-expires'));
    // Only a Min-Expires above what was asked is worth the retry here (the refresh path does not check).
    const retryExpires = this.retryExpiresAfter423(sipError.status, minExpires, mayRetry423 && (minExpires ?? 0) > expires);
    if (retryExpires !== undefined) {
      this.establish(retryExpires, false);
      return;
    }
    const retryAfter = parseDeltaSeconds(sipError.res?.get('retry-after'));
    this.startRejected(sipError.status, sipError.reason ?? '', retryAfter);
  }

  protected override async refreshSubscribe(expires: number): Promise<SubscribeAnswer> {
    const { status, res } = await this.inDialogSubscribe(expires);
    return { status, expires: parseDeltaSeconds(res?.get('expires')), minExpires: parseDeltaSeconds(res?.get('min-expires')) };
  }

  protected override sendUnsubscribe(): Promise<number | undefined> | undefined {
    if (!this.dialog) return undefined;
    return this.inDialogSubscribe(0).then(({ status }) => status || undefined);
  }

  protected override logFields(): Record<string, unknown> {
    return { subscription: this.id, resource: this.options.resource };
  }

  protected override hasDialog(): boolean {
    return this.dialog !== undefined;
  }

  /** Drops the dialog: srf keeps it after a terminating NOTIFY when From ≠ To (defect B). */
  protected override release(): void {
    const dialog = this.dialog;
    this.dialog = undefined;
    if (dialog) {
      dialog.connected = false;
      this.host.currentSrf()?.removeDialog(dialog);
      dialog.removeAllListeners();
    }
    this.host.detach(this);
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
        this.log.debug({ ...this.logFields(), err: error }, 'in-dialog SUBSCRIBE could not be sent');
        resolve({ status: 503 });
      }
    });
  }
}

function safeSend(res: Srf.SrfResponse, status: number, reason?: string): void {
  try {
    if (!res.finalResponseSent) res.send(status, reason);
  } catch {
    // the server already answered (terminating NOTIFY, defect A) or the connection is gone
  }
}

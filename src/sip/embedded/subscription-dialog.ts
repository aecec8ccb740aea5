import type { Logger } from 'pino';
import sip from 'sip';
import {
  SipRequestError,
  SipStatusError,
  type BoundAddress,
  type NotifyEvent,
  type SipSubscription,
  type SipTransport,
  type SubscribeOptions,
  type SubscriptionDelegate,
  type SubscriptionEnded,
  type SubscriptionPhase,
} from '../port.js';
import { newCallId, newTag } from './identifiers.js';
import { firstHeader, type DecodedMessage } from './message-codec.js';
import { formatNameAddr, headerPairs, proxyRoute, type OutgoingRequest } from './outgoing-request.js';
import { parseDeltaSeconds, parseSubscriptionState } from './subscription-state.js';
import type { SipTimerValues } from './timer-values.js';

/** What a subscription dialog needs from the engine (the layer below); nothing flows the other way. */
export interface SubscriptionHost {
  readonly timers: SipTimerValues;
  readonly logger: Logger;
  /** Local host for Call-IDs. */
  readonly localHost: string;
  /** The outbound proxy, if the engine has one. */
  readonly outboundProxy?: BoundAddress;
  /** Runs a client transaction; resolves with the final response, rejects with SipRequestError. */
  sendRequest(request: OutgoingRequest, hop: BoundAddress): Promise<DecodedMessage>;
  /** Our Contact URI for a transport, with `;transport=` (RFC 3261 §8.1.1.8). */
  contactUri(transport: SipTransport): string;
  attach(dialog: SubscriptionDialog): void;
  detach(dialog: SubscriptionDialog): void;
}

/** The answer the engine sends to a NOTIFY, and what to do once it has been sent. */
export interface NotifyOutcome {
  status: number;
  reason?: string;
  afterReply?: () => void;
}

/** Refresh point for a granted expiry: 90 %, or expires − 30 s for long ones (RFC 6665 §4.1.2.2). */
export function refreshDelaySeconds(expires: number): number {
  return expires > 300 ? expires - 30 : Math.max(1, Math.floor(expires * 0.9));
}

/**
 * The subscriber side of one RFC 6665 subscription: the initial SUBSCRIBE, the dialog it creates
 * (RFC 3261 §12.1.2: route set from Record-Route reversed, remote target from Contact), NOTIFY handling
 * (including a NOTIFY that beats the 2xx, §4.1.2.4), Timer N, refreshes and unsubscribe.
 * Modelled on SIP.js core's SubscribeUserAgentClient + SubscriptionDialog.
 */
export class SubscriptionDialog implements SipSubscription {
  readonly id: string;
  readonly callId: string;
  readonly localTag = newTag();
  private remoteTag?: string;
  private remoteTarget: string;
  private routeSet: string[] = [];
  private localCseq = 0;
  private phaseValue: SubscriptionPhase = 'notify-wait';
  private requestedExpires: number;
  private ended = false;
  private unsubscribing = false;
  private established = false;
  private timerN?: NodeJS.Timeout;
  private refreshTimer?: NodeJS.Timeout;
  private settleStart?: { resolve: (s: SipSubscription) => void; reject: (e: Error) => void };
  private readonly log: Logger;
  private readonly hop: BoundAddress | undefined;
  private readonly viaProxy: boolean;

  constructor(
    private readonly options: SubscribeOptions,
    private readonly delegate: SubscriptionDelegate,
    private readonly host: SubscriptionHost,
  ) {
    this.callId = newCallId(host.localHost);
    this.id = this.callId;
    this.remoteTarget = options.resource;
    this.requestedExpires = options.expires;
    this.hop = options.nextHop ?? host.outboundProxy;
    this.viaProxy = !options.nextHop && !!host.outboundProxy;
    this.log = host.logger.child({ subscription: this.id, resource: options.resource });
  }

  get phase(): SubscriptionPhase {
    return this.phaseValue;
  }

  /** Sends the initial SUBSCRIBE. Resolves on 2xx or on a NOTIFY that came first. */
  start(): Promise<SipSubscription> {
    this.host.attach(this);
    const started = new Promise<SipSubscription>((resolve, reject) => {
      this.settleStart = { resolve, reject };
    });
    void this.sendInitial(this.requestedExpires, true);
    return started;
  }

  refresh(): Promise<void> {
    return this.sendRefresh(this.requestedExpires, true);
  }

  async unsubscribe(): Promise<void> {
    if (this.ended || this.unsubscribing) return;
    this.unsubscribing = true;
    clearTimeout(this.refreshTimer);
    clearTimeout(this.timerN);
    try {
      const response = await this.host.sendRequest(this.buildSubscribe(0), this.nextHop());
      const status = response.message.status ?? 0;
      if (status >= 200 && status < 300) {
        // RFC 6665 §4.1.2.3: a final NOTIFY follows; wait for it at most Timer N.
        this.timerN = setTimeout(() => this.end({ cause: 'unsubscribed' }), 64 * this.host.timers.t1Ms);
        return;
      }
      this.end({ cause: 'unsubscribed', status });
    } catch {
      this.end({ cause: 'unsubscribed' });
    }
  }

  /** The engine stopped: end without signalling. */
  engineStopped(): void {
    this.settleStart?.reject(new SipRequestError('transport', 'engine stopped'));
    this.end({ cause: 'engine-stopped' });
  }

  /** Whether a NOTIFY's From tag belongs to this dialog (before the dialog exists, any tag does). */
  matchesRemoteTag(tag: string | undefined): boolean {
    return !this.remoteTag || this.remoteTag === tag;
  }

  /** An in-dialog NOTIFY (RFC 6665 §4.1.3). The engine sends the returned status, then calls afterReply. */
  handleNotify(request: DecodedMessage): NotifyOutcome {
    if (this.ended) return { status: 481 };
    const state = parseSubscriptionState(firstHeader(request, 'subscription-state'));
    if (!state) return { status: 400, reason: 'Missing Subscription-State' };
    const fromTag = request.message.headers.from?.params?.tag ?? undefined;
    if (!this.matchesRemoteTag(fromTag)) return { status: 481 };
    if (!this.established) {
      // §4.1.2.4: the NOTIFY creates the dialog; its Record-Route is the route set as-is (UAS side).
      this.establish(fromTag, request, false);
    }
    this.updateRemoteTarget(request);
    clearTimeout(this.timerN);
    if (state.state !== 'terminated') {
      this.phaseValue = state.state === 'pending' ? 'pending' : 'active';
      if (state.expires !== undefined && !this.unsubscribing) this.scheduleRefresh(state.expires);
    }
    const event: NotifyEvent = {
      subscriptionState: state,
      contentType: firstHeader(request, 'content-type'),
      body: request.body,
      headers: request.headers,
    };
    return {
      status: 200,
      afterReply: () => {
        this.settleStart?.resolve(this);
        this.settleStart = undefined;
        this.delegate.onNotify(event);
        if (state.state === 'terminated') {
          this.end(
            this.unsubscribing
              ? { cause: 'unsubscribed' }
              : { cause: 'notify-terminated', reason: state.reason, retryAfter: state.retryAfter },
          );
        }
      },
    };
  }

  private async sendInitial(expires: number, mayRetry423: boolean): Promise<void> {
    let response: DecodedMessage;
    try {
      response = await this.host.sendRequest(this.buildSubscribe(expires), this.nextHop());
    } catch (error) {
      this.failStart(error instanceof SipRequestError ? error : new SipRequestError('transport', String(error)), undefined);
      return;
    }
    if (this.ended) return;
    const status = response.message.status ?? 0;
    if (status === 423 && mayRetry423) {
      const minExpires = parseDeltaSeconds(firstHeader(response, 'min-expires'));
      if (minExpires !== undefined) {
        this.requestedExpires = minExpires;
        await this.sendInitial(minExpires, false);
        return;
      }
    }
    if (status < 200 || status >= 300) {
      const retryAfter = parseDeltaSeconds(firstHeader(response, 'retry-after'));
      this.failStart(new SipStatusError(status, response.message.reason ?? '', retryAfter), status);
      return;
    }
    if (!this.established) {
      this.establish(response.message.headers.to?.params?.tag ?? undefined, response, true);
      // §4.1.2.4 Timer N: the first NOTIFY must come within 64·T1 of the 2xx.
      this.timerN = setTimeout(() => this.end({ cause: 'timeout' }), 64 * this.host.timers.t1Ms);
    } else {
      this.updateRemoteTarget(response);
    }
    this.scheduleRefresh(parseDeltaSeconds(firstHeader(response, 'expires')) ?? expires);
    this.settleStart?.resolve(this);
    this.settleStart = undefined;
  }

  private failStart(error: SipRequestError | SipStatusError, status: number | undefined): void {
    if (this.settleStart) {
      this.settleStart.reject(error);
      this.settleStart = undefined;
      this.ended = true;
      this.phaseValue = 'terminated';
      this.clearTimers();
      this.host.detach(this);
      return;
    }
    // Already resolved by an early NOTIFY: the owner hears about it through onEnded.
    this.end(status ? { cause: 'rejected', status } : { cause: 'timeout' });
  }

  private async sendRefresh(expires: number, mayRetry423: boolean): Promise<void> {
    if (this.ended || this.unsubscribing || !this.established) return;
    clearTimeout(this.refreshTimer);
    let status: number;
    let response: DecodedMessage | undefined;
    try {
      response = await this.host.sendRequest(this.buildSubscribe(expires), this.nextHop());
      status = response.message.status ?? 0;
    } catch (error) {
      status = error instanceof SipRequestError && error.kind === 'timeout' ? 408 : 503;
    }
    if (this.ended || this.unsubscribing) return;
    if (response && status === 423 && mayRetry423) {
      const minExpires = parseDeltaSeconds(firstHeader(response, 'min-expires'));
      if (minExpires !== undefined) {
        this.requestedExpires = minExpires;
        await this.sendRefresh(minExpires, false);
        return;
      }
    }
    if (!response || status < 200 || status >= 300) {
      this.log.info({ status }, 'subscription refresh failed');
      this.end({ cause: 'refresh-failed', status });
      return;
    }
    this.updateRemoteTarget(response);
    const granted = parseDeltaSeconds(firstHeader(response, 'expires')) ?? expires;
    this.scheduleRefresh(granted);
    this.delegate.onRefreshed?.(granted);
  }

  private scheduleRefresh(grantedSeconds: number): void {
    clearTimeout(this.refreshTimer);
    if (grantedSeconds <= 0) return;
    this.refreshTimer = setTimeout(() => void this.sendRefresh(this.requestedExpires, true), refreshDelaySeconds(grantedSeconds) * 1000);
  }

  private establish(remoteTag: string | undefined, message: DecodedMessage, fromResponse: boolean): void {
    this.established = true;
    this.remoteTag = remoteTag;
    const recordRoute = message.headers['record-route'] ?? [];
    const routes = recordRoute.flatMap(splitNameAddrList);
    // RFC 3261 §12.1.2: the UAC reverses Record-Route; §12.1.1: the UAS (here: NOTIFY receiver) keeps it.
    this.routeSet = fromResponse ? routes.reverse() : routes;
    this.updateRemoteTarget(message);
  }

  private updateRemoteTarget(message: DecodedMessage): void {
    const contact = message.message.headers.contact;
    if (Array.isArray(contact) && contact[0]?.uri) this.remoteTarget = contact[0].uri;
  }

  /** Where in-dialog requests go: the first route, else the configured hop, else the remote target. */
  private nextHop(): BoundAddress {
    const target = this.routeSet.length ? this.routeSet[0].replace(/^.*<|>.*$/g, '') : undefined;
    if (target) return hopOf(target, this.hop?.transport ?? 'udp');
    if (this.hop) return this.hop;
    return hopOf(this.established ? this.remoteTarget : this.options.resource, 'udp');
  }

  private buildSubscribe(expires: number): OutgoingRequest {
    this.localCseq += 1;
    const transport = this.nextHop().transport;
    const headers: Array<[string, string]> = [];
    if (this.routeSet.length) {
      for (const route of this.routeSet) headers.push(['route', route]);
    } else if (this.viaProxy && this.host.outboundProxy && !this.established) {
      // Only the initial SUBSCRIBE is pre-routed through the outbound proxy (RFC 3261 §8.1.2). Inside the
      // dialog an empty route set means no Route header at all (§12.2.1.1): the request still goes to the
      // proxy's address, with the remote target as Request-URI, so the notifier handles it once.
      headers.push(['route', proxyRoute(this.host.outboundProxy)]);
    }
    headers.push(['contact', `<${this.host.contactUri(transport)}>`]);
    headers.push(['event', this.options.event]);
    headers.push(['accept', this.options.accept.join(', ')]);
    headers.push(['expires', String(expires)]);
    headers.push(...headerPairs(this.options.headers));
    return {
      method: 'SUBSCRIBE',
      requestUri: this.established ? this.remoteTarget : this.options.resource,
      from: formatNameAddr(this.options.from, undefined, this.localTag),
      to: formatNameAddr(this.options.resource, undefined, this.remoteTag),
      callId: this.callId,
      cseq: this.localCseq,
      headers,
    };
  }

  private end(ended: SubscriptionEnded): void {
    if (this.ended) return;
    this.ended = true;
    this.phaseValue = 'terminated';
    this.clearTimers();
    this.host.detach(this);
    this.log.debug({ cause: ended.cause, status: ended.status }, 'subscription ended');
    this.delegate.onEnded(ended);
  }

  private clearTimers(): void {
    clearTimeout(this.timerN);
    clearTimeout(this.refreshTimer);
  }
}

/** Splits `<a>, <b>;p` into entries (commas inside <> are not separators). */
function splitNameAddrList(value: string): string[] {
  return value.match(/(?:[^,<]|<[^>]*>)+/g)?.map((s) => s.trim()).filter(Boolean) ?? [];
}

/** The next hop named by a SIP URI (RFC 3263 simplified: host, port or 5060, `transport` param). */
export function hopOf(uri: string, defaultTransport: SipTransport): BoundAddress {
  const parsed = sip.parseUri(uri);
  if (!parsed) throw new SipRequestError('transport', `cannot route to ${uri}`);
  const transport = parsed.params.transport?.toLowerCase();
  return {
    host: parsed.host.replace(/^\[|\]$/g, ''),
    port: Number.isFinite(parsed.port) && parsed.port > 0 ? parsed.port : 5060,
    transport: transport === 'tcp' || transport === 'udp' ? transport : defaultTransport,
  };
}

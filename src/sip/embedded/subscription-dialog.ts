import type { Logger } from 'pino';
import sip from 'sip';
import {
  SipRequestError,
  type BoundAddress,
  type NotifyEvent,
  type SipSubscription,
  type SipTransport,
  type SubscribeOptions,
  type SubscriptionDelegate,
} from '../port.js';
import { SubscriberLifecycle, type SubscribeAnswer } from '../subscriber-lifecycle.js';
import { newCallId, newTag } from './identifiers.js';
import { firstHeader, type DecodedMessage } from './message-codec.js';
import { headerPairs, proxyRoute, type OutgoingRequest } from './outgoing-request.js';
import { formatNameAddr } from '../name-addr.js';
import { parseDeltaSeconds, parseSubscriptionState } from '../subscription-state.js';
import type { SipTimerValues } from './timer-values.js';
import { ownString } from '../../lib/own-string.js';
import { SentStatus } from '../sent-status.js';

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

/** A refresh's answer, with the response (absent when none came) for the remote target. */
type RefreshAnswer = SubscribeAnswer & { response?: DecodedMessage };

/**
 * The subscriber side of one RFC 6665 subscription over the embedded stack: the initial SUBSCRIBE, the
 * dialog it creates (RFC 3261 §12.1.2: route set from Record-Route reversed, remote target from
 * Contact), the NOTIFYs the engine routes here (including one that beats the 2xx, RFC 6665 §4.1.2.4)
 * and the in-dialog SUBSCRIBEs (refresh, unsubscribe). The lifecycle itself is
 * {@link SubscriberLifecycle}. Modelled on SIP.js core's SubscribeUserAgentClient + SubscriptionDialog.
 */
export class SubscriptionDialog extends SubscriberLifecycle<RefreshAnswer> implements SipSubscription {
  override readonly id: string;
  readonly callId: string;
  readonly localTag = newTag();
  private remoteTag?: string;
  private remoteTarget: string;
  private routeSet: string[] = [];
  private localCseq = 0;
  private established = false;
  private readonly hop: BoundAddress | undefined;
  private readonly viaProxy: boolean;

  constructor(
    private readonly options: SubscribeOptions,
    delegate: SubscriptionDelegate,
    private readonly host: SubscriptionHost,
  ) {
    const callId = newCallId(host.localHost);
    super({
      delegate,
      log: host.logger,
      expires: options.expires,
      t1Ms: () => host.timers.t1Ms,
    });
    this.callId = callId;
    this.id = callId;
    this.remoteTarget = options.resource;
    this.hop = options.nextHop ?? host.outboundProxy;
    this.viaProxy = !options.nextHop && !!host.outboundProxy;
  }

  /** Sends the initial SUBSCRIBE. Resolves on 2xx or on a NOTIFY that came first. */
  start(): Promise<SipSubscription> {
    this.host.attach(this);
    const started = this.pendingStart();
    void this.sendInitial(this.requestedExpires, true);
    return started;
  }

  /** Whether a NOTIFY's From tag belongs to this dialog (before the dialog exists, any tag does). */
  matchesRemoteTag(tag: string | undefined): boolean {
    return !this.remoteTag || this.remoteTag === tag;
  }

  /** An in-dialog NOTIFY (RFC 6665 §4.1.3). The engine sends the returned status, then calls afterReply. */
  handleNotify(request: DecodedMessage): NotifyOutcome {
    if (this.ended) return { status: SentStatus.noDialog };
    const state = parseSubscriptionState(firstHeader(request, 'subscription-state'));
    if (!state) return { status: SentStatus.invalid, reason: 'Missing Subscription-State' };
    const fromTag = request.message.headers.from?.params?.tag ?? undefined;
    if (!this.matchesRemoteTag(fromTag)) return { status: SentStatus.noDialog };
    if (!this.established) {
      // §4.1.2.4: the NOTIFY creates the dialog; its Record-Route is the route set as-is (UAS side).
      this.establish(fromTag, request, false);
    }
    this.updateRemoteTarget(request);
    this.notifyAccepted(state);
    const event: NotifyEvent = {
      subscriptionState: state,
      contentType: firstHeader(request, 'content-type'),
      body: request.body,
      headers: request.headers,
    };
    return { status: 200, afterReply: () => this.notifyDelivered(state, event) };
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
    const minExpires = parseDeltaSeconds(firstHeader(response, 'min-expires'));
    const retryExpires = this.retryExpiresAfter423(status, minExpires, mayRetry423);
    if (retryExpires !== undefined) {
      await this.sendInitial(retryExpires, false);
      return;
    }
    if (status < 200 || status >= 300) {
      const retryAfter = parseDeltaSeconds(firstHeader(response, 'retry-after'));
      this.startRejected(status, response.message.reason ?? '', retryAfter);
      return;
    }
    const first = !this.established;
    if (first) this.establish(response.message.headers.to?.params?.tag ?? undefined, response, true);
    else this.updateRemoteTarget(response);
    this.startAccepted(parseDeltaSeconds(firstHeader(response, 'expires')) ?? expires, first);
  }

  protected override async refreshSubscribe(expires: number): Promise<RefreshAnswer> {
    try {
      const response = await this.host.sendRequest(this.buildSubscribe(expires), this.nextHop());
      return {
        status: response.message.status ?? 0,
        expires: parseDeltaSeconds(firstHeader(response, 'expires')),
        minExpires: parseDeltaSeconds(firstHeader(response, 'min-expires')),
        response,
      };
    } catch (error) {
      return { status: error instanceof SipRequestError && error.kind === 'timeout' ? 408 : 503 };
    }
  }

  protected override refreshAccepted(answer: RefreshAnswer): void {
    if (answer.response) this.updateRemoteTarget(answer.response);
  }

  protected override async sendUnsubscribe(): Promise<number | undefined> {
    try {
      const response = await this.host.sendRequest(this.buildSubscribe(0), this.nextHop());
      return response.message.status ?? 0;
    } catch {
      return undefined;
    }
  }

  protected override logFields(): Record<string, unknown> {
    return { subscription: this.id, resource: this.options.resource };
  }

  protected override hasDialog(): boolean {
    return this.established;
  }

  protected override release(): void {
    this.host.detach(this);
  }

  private establish(remoteTag: string | undefined, message: DecodedMessage, fromResponse: boolean): void {
    this.established = true;
    // Copies: the dialog outlives the message these come from, and slices of it would keep it all alive.
    this.remoteTag = remoteTag === undefined ? undefined : ownString(remoteTag);
    const recordRoute = message.headers['record-route'] ?? [];
    const routes = recordRoute.flatMap(splitNameAddrList).map(ownString);
    // RFC 3261 §12.1.2: the UAC reverses Record-Route; §12.1.1: the UAS (here: NOTIFY receiver) keeps it.
    this.routeSet = fromResponse ? routes.reverse() : routes;
    this.updateRemoteTarget(message);
  }

  private updateRemoteTarget(message: DecodedMessage): void {
    const contact = message.message.headers.contact;
    if (Array.isArray(contact) && contact[0]?.uri) this.remoteTarget = ownString(contact[0].uri);
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
}

/** Splits `<a>, <b>;p` into entries (commas inside <> are not separators). */
function splitNameAddrList(value: string): string[] {
  return (
    value
      .match(/(?:[^,<]|<[^>]*>)+/g)
      ?.map((s) => s.trim())
      .filter(Boolean) ?? []
  );
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

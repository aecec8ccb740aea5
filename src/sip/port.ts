/**
 * The SipEngine port: the one interface the rest of the agent uses for SIP.
 *
 * Two engines implement it: `embedded/` (in-process, the default) and `drachtio/` (drachtio-srf talking
 * to a drachtio-server, for production). Code above this layer (presence, push) never imports an engine;
 * the composition root (`src/agent.ts`) picks one.
 *
 * Events go up through delegates/listeners; nothing here knows about pushes or presence documents.
 */

/** Transports an engine can listen on and send over. */
export type SipTransport = 'udp' | 'tcp';

/** A header map as it goes on the wire: lower-case names are fine, values are raw header values. */
export type SipHeaders = Record<string, string | string[]>;

export interface ListenAddress {
  /** IPv4/IPv6 literal to bind, e.g. `127.0.0.2`. */
  host: string;
  /** 0 picks a free port; read the bound one back from {@link SipEngine.localAddresses}. */
  port: number;
  transport: SipTransport;
}

export interface BoundAddress {
  host: string;
  port: number;
  transport: SipTransport;
}

/** A final response (status ≥ 200) to a request the engine sent. */
export interface SipFinalResponse {
  status: number;
  reason: string;
  /** Header values as received (lower-case names); repeated headers joined into arrays. */
  headers: Record<string, string[]>;
  /** Body bytes exactly as received. */
  body: Buffer;
}

/** An out-of-dialog request to send (RFC 3428 MESSAGE, OPTIONS, ...). */
export interface OutOfDialogRequest {
  method: string;
  /** Request-URI, e.g. `sip:alice@example.com`. */
  requestUri: string;
  /** To header URI (defaults to requestUri). */
  to?: string;
  /** From URI (the agent's identity). A tag is added by the engine. */
  from: string;
  /** From display name, optional. */
  fromDisplayName?: string;
  /** Extra headers (P-Asserted-Identity, Accept-Contact, ...). Never Via/Call-ID/CSeq/Content-Length. */
  headers?: SipHeaders;
  contentType?: string;
  /** Body bytes; they reach the wire byte-exact and Content-Length counts bytes. */
  body?: Buffer;
  /**
   * The request's identity (RFC 3261 §8.1.1.3–5: Call-ID, From tag, CSeq number). Unset: the engine
   * makes a fresh one. Set: the engine uses it as given, so a request sent again after a restart is
   * recognisable to the core and the handset as the same request (RFC 3261 §8.2.2.2 merged requests).
   */
  identity?: RequestIdentity;
  /**
   * The next hop. When unset the engine's configured outbound proxy is used, else the Request-URI host.
   * Example: `{ host: '127.0.0.1', port: 5060, transport: 'udp' }`.
   */
  nextHop?: BoundAddress;
}

/** Call-ID, From tag and CSeq number of an out-of-dialog request. */
export interface RequestIdentity {
  callId: string;
  fromTag: string;
  cseq: number;
}

/** What an engine can carry; the push path refuses at intake what the engine could never send. */
export interface EngineCapabilities {
  /** False: bodies must be UTF-8 text without NUL bytes (binary content such as WBXML is refused). */
  binaryBodies: boolean;
  /** Largest body the engine can put in a request, in bytes; unset = no limit of the engine's own. */
  maxBodyBytes?: number;
}

/** Why a request produced no final response. */
export type SipFailureKind = 'timeout' | 'transport';

/**
 * A request that ended without a final response: Timer F fired (RFC 3261 §17.1.2.2) or the transport
 * failed (connection refused, ICMP unreachable, socket closed).
 */
export class SipRequestError extends Error {
  readonly code: 'SIP_TIMEOUT' | 'SIP_TRANSPORT';
  /**
   * True when the request may have reached the network before the failure (a timeout always; a
   * transport error after a first successful send): its fate is unknown. False when it never left
   * the agent (no route, connect refused, engine not connected), so nobody can have acted on it.
   */
  readonly requestLeft: boolean;
  constructor(
    readonly kind: SipFailureKind,
    message: string,
    options?: { cause?: unknown; requestLeft?: boolean },
  ) {
    super(message, options);
    this.name = 'SipRequestError';
    this.code = kind === 'timeout' ? 'SIP_TIMEOUT' : 'SIP_TRANSPORT';
    this.requestLeft = options?.requestLeft ?? kind === 'timeout';
  }
}

/** The initial SUBSCRIBE got a final non-2xx response (after any 423 retry). */
export class SipStatusError extends Error {
  readonly code = 'SIP_STATUS';
  constructor(
    readonly status: number,
    readonly reason: string,
    readonly retryAfter?: number,
  ) {
    super(`SIP ${status} ${reason}`);
    this.name = 'SipStatusError';
  }
}

/** Subscription-State header, parsed (RFC 6665 §8.2.3 / §4.1.3). */
export interface SubscriptionState {
  state: 'active' | 'pending' | 'terminated' | string;
  reason?: string;
  expires?: number;
  retryAfter?: number;
}

/** A NOTIFY received inside a subscription dialog. The engine has already answered it 200. */
export interface NotifyEvent {
  subscriptionState: SubscriptionState;
  contentType?: string;
  /** Raw body bytes; empty Buffer when the NOTIFY had no body (RFC 6665: "no state now"). */
  body: Buffer;
  headers: Record<string, string[]>;
}

/** Why a subscription ended, as surfaced to the caller so it can decide to resubscribe. */
export interface SubscriptionEnded {
  /**
   * - `notify-terminated`: the notifier sent `Subscription-State: terminated` (see `reason`/`retryAfter`);
   * - `refresh-failed`: a refresh got 481/408/timeout or another error status (`status`);
   * - `rejected`: the initial SUBSCRIBE got a final non-2xx (`status`);
   * - `timeout`: no answer to the SUBSCRIBE, or no NOTIFY within Timer N (RFC 6665 §4.1.2.4);
   * - `unsubscribed`: we unsubscribed ourselves;
   * - `engine-stopped`: the engine stopped.
   */
  cause: 'notify-terminated' | 'refresh-failed' | 'rejected' | 'timeout' | 'unsubscribed' | 'engine-stopped';
  status?: number;
  reason?: string;
  retryAfter?: number;
}

export interface SubscribeOptions {
  /** Resource URI subscribed to, e.g. `sip:alice@example.com`. */
  resource: string;
  /** The subscriber identity (From). */
  from: string;
  event: string;
  accept: string[];
  /** Requested Expires in seconds. */
  expires: number;
  headers?: SipHeaders;
  nextHop?: BoundAddress;
}

/** Callbacks the subscription's owner gives; the engine calls them, never the other way up. */
export interface SubscriptionDelegate {
  onNotify(event: NotifyEvent): void;
  /** Called once, when the subscription is over for whatever reason. */
  onEnded(ended: SubscriptionEnded): void;
  /** A refresh succeeded (optional, for metrics). */
  onRefreshed?(expiresSeconds: number): void;
}

export type SubscriptionPhase = 'notify-wait' | 'pending' | 'active' | 'terminated';

export interface SipSubscription {
  readonly id: string;
  readonly phase: SubscriptionPhase;
  /** Refresh now (e.g. an operator forced it). Resolves once the refresh transaction ends. */
  refresh(): Promise<void>;
  /** Unsubscribe with `Expires: 0` (RFC 6665 §4.1.2.3). Resolves when answered or timed out. */
  unsubscribe(): Promise<void>;
}

/** An incoming out-of-dialog request given to the application. */
export interface IncomingRequest {
  method: string;
  requestUri: string;
  from: string;
  to: string;
  headers: Record<string, string[]>;
  body: Buffer;
  source: BoundAddress;
}

export interface IncomingReply {
  status: number;
  reason?: string;
  headers?: SipHeaders;
  contentType?: string;
  body?: Buffer;
}

/** What the application does with incoming requests outside dialogs. */
export type IncomingRequestHandler = (request: IncomingRequest) => IncomingReply | Promise<IncomingReply>;

/** Counters the engines keep, for metrics and tests. */
export interface SipEngineStats {
  requestsSent: Record<string, number>;
  responsesReceived: Record<string, number>;
  retransmissions: number;
  transactionTimeouts: number;
  requestsReceived: Record<string, number>;
  /** SIP input refused by the trust check or a resource limit, by reason (engines that have them). */
  refused?: Record<string, number>;
}

export interface SipEngine {
  readonly name: 'embedded' | 'drachtio';
  start(): Promise<void>;
  /** Stops listening and ends every timer; pending requests fail with `transport`. */
  stop(): Promise<void>;
  /** True once started and (for drachtio) connected. */
  readonly connected: boolean;
  /** What this engine can carry (checked at push intake). */
  readonly capabilities: EngineCapabilities;
  localAddresses(): BoundAddress[];
  /** Sends an out-of-dialog request and resolves with its final response; rejects with SipRequestError. */
  request(request: OutOfDialogRequest): Promise<SipFinalResponse>;
  /**
   * Starts a SUBSCRIBE dialog. Resolves once the initial SUBSCRIBE got a 2xx (or a NOTIFY came first,
   * RFC 6665 §4.1.2.4); rejects with SipStatusError (non-2xx after any 423 retry) or SipRequestError.
   */
  subscribe(options: SubscribeOptions, delegate: SubscriptionDelegate): Promise<SipSubscription>;
  /** Handler for MESSAGE/OPTIONS outside dialogs; without one, OPTIONS → 200 and MESSAGE → 200. */
  onIncomingRequest(handler: IncomingRequestHandler): void;
  stats(): SipEngineStats;
}

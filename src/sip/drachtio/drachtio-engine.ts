import type Srf from 'drachtio-srf';
import type { Logger } from 'pino';
import type { BackoffPolicy } from '../../lib/backoff.js';
import { silentLogger } from '../../lib/logger.js';
import {
  SipRequestError,
  type BoundAddress,
  type IncomingReply,
  type IncomingRequestHandler,
  type OutOfDialogRequest,
  type SipEngine,
  type SipEngineStats,
  type SipFinalResponse,
  type SipSubscription,
  type SubscribeOptions,
  type SubscriptionDelegate,
} from '../port.js';
import { EngineCounters } from '../engine-stats.js';
import { formatNameAddr } from '../name-addr.js';
import { DrachtioConnection, type DrachtioMode } from './drachtio-connection.js';
import { DrachtioSubscription, type DrachtioSubscriptionHost } from './drachtio-subscription.js';
import { fromSrfHeaders, toSrfHeaders, uriOf } from './srf-headers.js';
import { bodyAsCarriedText, bodyBytes } from './text-body.js';
import { SentStatus } from '../sent-status.js';

export interface DrachtioEngineOptions {
  /** drachtio-server's control address (inbound mode), or where the agent listens (outbound mode). */
  host: string;
  port: number;
  secret: string;
  mode?: DrachtioMode;
  /** Requests without a nextHop go through this proxy (drachtio-server's `proxy` option). */
  outboundProxy?: BoundAddress;
  logger?: Logger;
  reconnect?: BackoffPolicy;
  /** srf ping period, ms (5000–300000); default 15000. */
  pingIntervalMs?: number;
  /** How long `start()` waits for the first connection before resolving anyway (still retrying). */
  startWaitMs?: number;
  /** RFC 3261 T1 (Timer N and the request guard are 64·T1); default 500. */
  t1Ms?: number;
}

const ALLOW = 'MESSAGE, OPTIONS, NOTIFY';

/**
 * drachtio-server hands a request body to sofia-sip as a C string (cut at the first NUL, so no binary
 * content) and refuses bodies over 8 KB; see `text-body.ts`.
 */
export const DRACHTIO_MAX_BODY_BYTES = 8192;

/**
 * The SipEngine port on drachtio-srf 5 talking to a drachtio-server (docs/production-drachtio.md, docs/interop.md).
 * drachtio-server runs the RFC 3261 transactions (retransmissions, Timer F); this class turns srf's
 * callbacks into the port's promises. Bodies: UTF-8 text only (see `text-body.ts`).
 */
export class DrachtioEngine implements SipEngine, DrachtioSubscriptionHost {
  readonly name = 'drachtio' as const;
  readonly capabilities = { binaryBodies: false, maxBodyBytes: DRACHTIO_MAX_BODY_BYTES } as const;
  readonly logger: Logger;
  readonly t1Ms: number;
  private readonly connection: DrachtioConnection;
  private readonly counters = new EngineCounters();
  private readonly subscriptions = new Set<DrachtioSubscription>();
  private readonly byCallId = new Map<string, DrachtioSubscription>();
  /** Requests awaiting a final response; each is told when the connection to drachtio-server is lost. */
  private readonly pending = new Set<(reason: string) => void>();
  private handler?: IncomingRequestHandler;
  private hostport?: BoundAddress[];

  constructor(private readonly options: DrachtioEngineOptions) {
    this.logger = (options.logger ?? silentLogger()).child({ component: 'sip', engine: 'drachtio' });
    this.t1Ms = options.t1Ms ?? 500;
    this.connection = new DrachtioConnection({
      host: options.host,
      port: options.port,
      secret: options.secret,
      mode: options.mode ?? 'inbound',
      reconnect: options.reconnect ?? { baseMs: 500, maxMs: 30_000 },
      pingIntervalMs: options.pingIntervalMs ?? 15_000,
      logger: this.logger,
      onUp: (srf, hostport) => this.onUp(srf, hostport),
      onDown: (reason) => this.onDown(reason),
    });
  }

  get connected(): boolean {
    return this.connection.connected;
  }

  async start(): Promise<void> {
    await this.connection.start(this.options.startWaitMs ?? 5000);
  }

  async stop(): Promise<void> {
    for (const sub of [...this.subscriptions]) sub.engineStopped();
    this.connection.stop();
  }

  /** drachtio-server owns the SIP sockets; the agent has no SIP address of its own. */
  localAddresses(): BoundAddress[] {
    return this.hostport ?? [];
  }

  onIncomingRequest(handler: IncomingRequestHandler): void {
    this.handler = handler;
  }

  stats(): SipEngineStats {
    return this.counters.snapshot();
  }

  /** Out-of-dialog request through `srf.request()`'s callback form (the promise form loses responses, defect C). */
  request(request: OutOfDialogRequest): Promise<SipFinalResponse> {
    const srf = this.connection.current;
    if (!srf) return Promise.reject(new SipRequestError('transport', 'not connected to drachtio-server', { requestLeft: false }));
    let body: string | undefined;
    try {
      body = bodyAsCarriedText(request.body, request.contentType);
    } catch (error) {
      return Promise.reject(error);
    }
    const method = request.method.toUpperCase();
    // A given identity rides in Call-ID, CSeq and the From tag; drachtio-server uses headers the
    // application supplies for these instead of generating its own.
    const identity = request.identity;
    const headers = toSrfHeaders(request.headers, {
      From: formatNameAddr(request.from, request.fromDisplayName, identity?.fromTag),
      To: formatNameAddr(request.to ?? request.requestUri),
      'Call-ID': identity?.callId,
      CSeq: identity ? `${identity.cseq} ${method}` : undefined,
      'Content-Type': body !== undefined ? request.contentType : undefined,
    });
    this.counters.requestSent(method);
    return new Promise<SipFinalResponse>((resolve, reject) => {
      const fail = (error: SipRequestError): void => {
        clearTimeout(guard);
        this.pending.delete(lost);
        if (error.kind === 'timeout') this.counters.transactionTimeouts += 1;
        reject(error);
      };
      // Once written to drachtio-server the request may be sent even if the connection drops before
      // srf's callback: a loss then leaves its fate unknown (requestLeft).
      const lost = (reason: string): void =>
        fail(new SipRequestError('transport', `drachtio connection lost: ${reason}`, { requestLeft: true }));
      // drachtio-server runs Timer F and answers 408 itself; this only guards a lost response.
      const guard = setTimeout(() => fail(new SipRequestError('timeout', `no final response to ${method}`)), 64 * this.t1Ms + 5000);
      this.pending.add(lost);
      srf.request(request.requestUri, { method, headers, body, proxy: this.proxyUri(request.nextHop) }, (err, req) => {
        // drachtio-server refused to send it (bad URI, no route): it never left.
        if (err) return fail(new SipRequestError('transport', err.message, { cause: err, requestLeft: false }));
        req.on('response', (res) => {
          if (res.status < 200) return;
          clearTimeout(guard);
          this.pending.delete(lost);
          this.counters.responseReceived(res.status);
          resolve({ status: res.status, reason: res.reason ?? '', headers: fromSrfHeaders(res.headers), body: bodyBytes(res.body) });
        });
      });
    });
  }

  subscribe(options: SubscribeOptions, delegate: SubscriptionDelegate): Promise<SipSubscription> {
    if (!this.connection.current) return Promise.reject(new SipRequestError('transport', 'not connected to drachtio-server'));
    const sub = new DrachtioSubscription(options, delegate, this);
    this.subscriptions.add(sub);
    return sub.start();
  }

  // --- DrachtioSubscriptionHost ---

  currentSrf(): Srf | undefined {
    return this.connection.current;
  }

  proxyFor(options: SubscribeOptions): string | undefined {
    return this.proxyUri(options.nextHop);
  }

  bindCallId(callId: string, subscription: DrachtioSubscription): void {
    for (const [id, sub] of this.byCallId) if (sub === subscription) this.byCallId.delete(id);
    if (callId) this.byCallId.set(callId, subscription);
  }

  detach(subscription: DrachtioSubscription): void {
    this.subscriptions.delete(subscription);
    for (const [id, sub] of this.byCallId) if (sub === subscription) this.byCallId.delete(id);
  }

  countRequest(method: string): void {
    this.counters.requestSent(method);
  }

  countResponse(status: number): void {
    this.counters.responseReceived(status);
  }

  // --- connection events ---

  private onUp(srf: Srf, hostport: string | undefined): void {
    this.hostport = parseHostports(hostport);
    srf.message((req, res) => void this.answer(req, res));
    srf.options((req, res) => void this.answer(req, res));
    // A NOTIFY that beats the SUBSCRIBE's 2xx arrives outside any srf dialog (RFC 6665 §4.1.2.4).
    srf.notify((req, res) => this.onStrayNotify(req, res));
    for (const sub of [...this.subscriptions]) sub.connectionRestored();
  }

  private onDown(reason: string): void {
    for (const lost of [...this.pending]) lost(reason);
    this.byCallId.clear();
    for (const sub of [...this.subscriptions]) sub.connectionLost();
  }

  private onStrayNotify(req: Srf.SrfRequest, res: Srf.SrfResponse): void {
    this.counters.requestReceived('NOTIFY');
    const sub = this.byCallId.get(req.get('call-id') ?? '');
    if (sub) sub.handleNotify(req, res);
    else res.send(481);
  }

  private async answer(req: Srf.SrfRequest, res: Srf.SrfResponse): Promise<void> {
    this.counters.requestReceived(req.method);
    let reply: IncomingReply;
    if (!this.handler) {
      reply = req.method === 'OPTIONS' ? { status: 200, headers: { Allow: ALLOW } } : { status: 200 };
    } else {
      try {
        reply = await this.handler({
          method: req.method,
          requestUri: req.uri,
          from: uriOf(req.get('from')),
          to: uriOf(req.get('to')),
          headers: fromSrfHeaders(req.headers),
          body: bodyBytes(req.body),
          source: { host: req.source_address, port: req.source_port, transport: req.protocol === 'tcp' ? 'tcp' : 'udp' },
        });
      } catch (error) {
        this.logger.warn({ err: error }, 'incoming request handler failed');
        reply = { status: SentStatus.handlerFailed };
      }
    }
    try {
      const body = bodyAsCarriedText(reply.body, reply.contentType);
      const headers = toSrfHeaders(reply.headers, { 'Content-Type': body !== undefined ? reply.contentType : undefined });
      res.send(reply.status, reply.reason, { headers, body });
    } catch (error) {
      this.logger.warn({ err: error }, 'reply could not be sent as given; answering 500');
      res.send(500);
    }
  }

  private proxyUri(nextHop: BoundAddress | undefined): string | undefined {
    const hop = nextHop ?? this.options.outboundProxy;
    if (!hop) return undefined;
    const host = hop.host.includes(':') ? `[${hop.host}]` : hop.host;
    return `sip:${host}:${hop.port};transport=${hop.transport}`;
  }
}

/** drachtio-server's SIP addresses as it reports them on connect: `udp/127.0.0.1:5060,tcp/…`. Pure. */
export function parseHostports(value: string | undefined): BoundAddress[] {
  const out: BoundAddress[] = [];
  for (const entry of (value ?? '').split(',')) {
    const match = /^(udp|tcp)\/\[?([^\]]+?)\]?:(\d+)$/i.exec(entry.trim());
    if (match) out.push({ transport: match[1].toLowerCase() as 'udp' | 'tcp', host: match[2], port: Number(match[3]) });
  }
  return out;
}

/** Creates the drachtio engine (not started). */
export function createDrachtioEngine(options: DrachtioEngineOptions): SipEngine {
  return new DrachtioEngine(options);
}

import dns from 'node:dns/promises';
import net from 'node:net';
import type { Logger } from 'pino';
import { silentLogger } from '../../lib/logger.js';
import { TrustedPeers } from '../trusted-peers.js';
import {
  SipRequestError,
  type BoundAddress,
  type IncomingReply,
  type IncomingRequestHandler,
  type ListenAddress,
  type OutOfDialogRequest,
  type SipEngine,
  type SipFinalResponse,
  type SipSubscription,
  type SipTransport,
  type SubscribeOptions,
  type SubscriptionDelegate,
} from '../port.js';
import { EngineCounters } from '../engine-stats.js';
import { BRANCH_COOKIE, newBranch, newCallId, newTag } from './identifiers.js';
import { decodeMessage, type DecodedMessage } from './message-codec.js';
import { NonInviteClientTransaction } from './non-invite-client-transaction.js';
import { NonInviteServerTransaction } from './non-invite-server-transaction.js';
import { measureMessage, responseHeadersOnly } from './oversize.js';
import { ServerTransactionTable } from './server-transaction-table.js';
import { headerPairs, proxyRoute, type OutgoingRequest } from './outgoing-request.js';
import { encodeRequest } from './request-encoder.js';
import { formatNameAddr } from '../name-addr.js';
import { buildResponse, missingMandatoryHeader, udpResponseDestination } from './response-builder.js';
import { SubscriptionDialog, hopOf, type SubscriptionHost } from './subscription-dialog.js';
import { TcpTransport } from './tcp-transport.js';
import { resolveSipLimits, type SipLimits, type SipLimitsInput } from './sip-limits.js';
import { resolveTimerValues, type SipTimerValues } from './timer-values.js';
import type { Destination, InboundFrame, SipTransportBinding } from './transport.js';
import { UdpTransport } from './udp-transport.js';
import { SentStatus } from '../sent-status.js';

export interface EmbeddedEngineOptions {
  listen: ListenAddress[];
  /** Requests without an explicit nextHop go here, with `Route: <sip:proxy;lr>` (RFC 3261 §8.1.2). */
  outboundProxy?: BoundAddress;
  timers?: Partial<SipTimerValues>;
  logger?: Logger;
  /** Message size, server-transaction and TCP connection bounds (config `sip.limits`); defaults in sip-limits.ts. */
  limits?: SipLimitsInput;
  /** Largest message body accepted (bytes); overrides `limits.maxBodyBytes` (the engine's own tests). */
  maxMessageBytes?: number;
  /**
   * Source addresses/CIDRs allowed to send SIP (config `sip.trustedPeers`); others get 403 for requests
   * and their responses are dropped and counted. Absent: anyone (the engine's own tests).
   */
  trustedPeers?: readonly string[];
}

/** A response handed to a client transaction. */
interface MatchedResponse {
  status: number;
  decoded: DecodedMessage;
}

/** Methods answered outside dialogs (RFC 3261 §8.2.1: others get 405 with Allow). */
const ALLOWED_METHODS = ['MESSAGE', 'OPTIONS', 'NOTIFY'];

/**
 * The in-process SIP engine: our own UDP/TCP transports and RFC 3261 §17 non-INVITE transactions, with
 * npm `sip` as the message codec only. Implements the {@link SipEngine} port.
 */
export class EmbeddedEngine implements SipEngine, SubscriptionHost {
  readonly name = 'embedded' as const;
  /** Bodies go on the wire byte-exact (binary included); no size limit of its own (TCP above 1300 bytes). */
  readonly capabilities = { binaryBodies: true } as const;
  readonly timers: SipTimerValues;
  readonly logger: Logger;
  readonly outboundProxy?: BoundAddress;
  private running = false;
  private bindings: SipTransportBinding[] = [];
  private readonly clientTransactions = new Map<string, NonInviteClientTransaction<MatchedResponse>>();
  private readonly serverTransactions: ServerTransactionTable;
  private readonly dialogs = new Map<string, SubscriptionDialog>();
  private readonly counters = new EngineCounters();
  private handler?: IncomingRequestHandler;
  private readonly trusted?: TrustedPeers;
  readonly limits: SipLimits;

  constructor(private readonly options: EmbeddedEngineOptions) {
    this.timers = resolveTimerValues(options.timers);
    const limits = resolveSipLimits(options.limits);
    this.limits = options.maxMessageBytes === undefined ? limits : { ...limits, maxBodyBytes: options.maxMessageBytes };
    this.serverTransactions = new ServerTransactionTable(
      { maxTransactions: this.limits.maxServerTransactions, maxResponseBytes: this.limits.maxServerTransactionBytes },
      64 * this.timers.t1Ms,
    );
    this.trusted = options.trustedPeers ? new TrustedPeers(options.trustedPeers) : undefined;
    this.logger = (options.logger ?? silentLogger()).child({ component: 'sip' });
    this.outboundProxy = options.outboundProxy;
  }

  get connected(): boolean {
    return this.running;
  }

  get localHost(): string {
    return this.bindings[0]?.bound?.host ?? '127.0.0.1';
  }

  async start(): Promise<void> {
    if (this.running) return;
    const { maxHeaderBytes, maxBodyBytes, tcp } = this.limits;
    const trusted = this.trusted;
    const events = {
      onFrame: (frame: InboundFrame) => this.onFrame(frame),
      onJunk: (reason: string) => this.onJunk(reason),
    };
    const bindings = this.options.listen.map((listen) =>
      listen.transport === 'udp'
        ? new UdpTransport(listen, events, this.logger)
        : new TcpTransport(listen, events, this.logger, {
            limits: { maxHeaderBytes, maxBodyBytes },
            tcp,
            acceptPeer: trusted ? (host) => trusted.allows(host) : undefined,
          }),
    );
    const results = await Promise.allSettled(bindings.map((b) => b.start()));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      await Promise.all(bindings.map((b) => b.stop()));
      throw failed.reason;
    }
    this.bindings = bindings;
    this.running = true;
    this.logger.info({ listen: this.localAddresses() }, 'embedded SIP engine started');
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    for (const dialog of [...this.dialogs.values()]) dialog.engineStopped();
    for (const tx of [...this.clientTransactions.values()]) tx.abort('engine stopped');
    for (const tx of this.serverTransactions.transactions()) tx.terminate();
    this.clientTransactions.clear();
    this.serverTransactions.clear();
    await Promise.all(this.bindings.map((b) => b.stop()));
    this.bindings = [];
    this.logger.info('embedded SIP engine stopped');
  }

  localAddresses(): BoundAddress[] {
    return this.bindings.flatMap((b) => (b.bound ? [{ ...b.bound }] : []));
  }

  onIncomingRequest(handler: IncomingRequestHandler): void {
    this.handler = handler;
  }

  /** The port's stats plus junk, stray-response, untrusted-peer and limit counters. */
  stats(): ReturnType<EngineCounters['snapshot']> & {
    refused: Record<string, number>;
    serverTransactions: number;
    serverTransactionBytes: number;
    tcp: TcpStats;
  } {
    const tcp: TcpStats = { inboundConnections: 0, refused: {}, messageTimeouts: 0 };
    for (const binding of this.bindings) {
      if (!(binding instanceof TcpTransport)) continue;
      tcp.inboundConnections += binding.inboundConnections;
      tcp.messageTimeouts += binding.messageTimeouts;
      for (const [reason, n] of Object.entries(binding.refused)) tcp.refused[reason] = (tcp.refused[reason] ?? 0) + n;
    }
    const counters = this.counters.snapshot();
    const refused: Record<string, number> = {
      untrusted: counters.untrusted,
      oversize: counters.oversizeMessages,
      'transaction-limit': counters.serverTransactionsRefused,
      'tcp-message-timeout': tcp.messageTimeouts,
    };
    for (const [reason, n] of Object.entries(tcp.refused)) refused[`tcp-${reason}`] = n;
    return {
      ...counters,
      refused,
      serverTransactions: this.serverTransactions.size,
      serverTransactionBytes: this.serverTransactions.responseBytes,
      tcp,
    };
  }

  /** RFC 3428 MESSAGE (or OPTIONS, ...) outside a dialog; no Contact (RFC 3428 §4). */
  async request(request: OutOfDialogRequest): Promise<SipFinalResponse> {
    const hop = request.nextHop ?? this.outboundProxy ?? hopOf(request.requestUri, 'udp');
    const headers = headerPairs(request.headers);
    if (!request.nextHop && this.outboundProxy) headers.unshift(['route', proxyRoute(this.outboundProxy)]);
    const outgoing: OutgoingRequest = {
      method: request.method.toUpperCase(),
      requestUri: request.requestUri,
      from: formatNameAddr(request.from, request.fromDisplayName, request.identity?.fromTag ?? newTag()),
      to: formatNameAddr(request.to ?? request.requestUri),
      callId: request.identity?.callId ?? newCallId(this.localHost),
      cseq: request.identity?.cseq ?? 1,
      headers,
      contentType: request.contentType,
      body: request.body,
    };
    const response = await this.sendRequest(outgoing, hop);
    return {
      status: response.message.status ?? 0,
      reason: response.message.reason ?? '',
      headers: response.headers,
      body: response.body,
    };
  }

  subscribe(options: SubscribeOptions, delegate: SubscriptionDelegate): Promise<SipSubscription> {
    if (!this.running) return Promise.reject(new SipRequestError('transport', 'engine not started'));
    return new SubscriptionDialog(options, delegate, this).start();
  }

  /** Runs one non-INVITE client transaction (RFC 3261 §17.1.2) for `request` towards `hop`. */
  async sendRequest(request: OutgoingRequest, hop: BoundAddress): Promise<DecodedMessage> {
    if (!this.running) throw new SipRequestError('transport', 'engine not started');
    const host = await resolveHost(hop.host);
    const binding = this.bindingFor(hop.transport, host);
    const branch = newBranch();
    const bytes = encodeRequest(request, binding.bound!, branch);
    const key = `${branch}|${request.method}`;
    const destination = { host, port: hop.port };
    const tx = new NonInviteClientTransaction<MatchedResponse>({
      reliable: binding.reliable,
      timers: this.timers,
      send: sendOnce(binding, destination, bytes),
      onRetransmit: () => {
        this.counters.retransmissions += 1;
      },
      onTerminated: () => this.clientTransactions.delete(key),
    });
    this.clientTransactions.set(key, tx);
    this.counters.requestSent(request.method);
    this.logger.debug({ method: request.method, callId: request.callId, to: destination, transport: hop.transport }, 'sending request');
    try {
      return (await tx.start()).decoded;
    } catch (error) {
      if (error instanceof SipRequestError && error.kind === 'timeout') this.counters.transactionTimeouts += 1;
      throw error;
    }
  }

  contactUri(transport: SipTransport): string {
    const bound = this.bindings.find((b) => b.transport === transport)?.bound ?? this.bindings[0]?.bound;
    if (!bound) return 'sip:127.0.0.1';
    const host = bound.host.includes(':') ? `[${bound.host}]` : bound.host;
    return `sip:${host}:${bound.port};transport=${bound.transport}`;
  }

  attach(dialog: SubscriptionDialog): void {
    this.dialogs.set(`${dialog.callId}|${dialog.localTag}`, dialog);
  }

  detach(dialog: SubscriptionDialog): void {
    this.dialogs.delete(`${dialog.callId}|${dialog.localTag}`);
  }

  private bindingFor(transport: SipTransport, host: string): SipTransportBinding {
    const candidates = this.bindings.filter((b) => b.transport === transport && b.bound);
    const sameFamily = candidates.find((b) => net.isIPv6(b.bound!.host) === net.isIPv6(host));
    const binding = sameFamily ?? candidates[0];
    if (!binding) throw new SipRequestError('transport', `no ${transport.toUpperCase()} listen address configured`);
    return binding;
  }

  private onJunk(reason: string): void {
    this.counters.junkMessages += 1;
    this.logger.debug({ reason }, 'junk dropped');
  }

  private onFrame(frame: InboundFrame): void {
    if (!this.running) return;
    const size = measureMessage(frame.data);
    if (size.headerBytes > this.limits.maxHeaderBytes || size.bodyBytes > this.limits.maxBodyBytes) {
      this.onOversize(frame);
      return;
    }
    const decoded = decodeMessage(frame.data);
    if (!decoded) {
      if (frame.data.toString('latin1').trim() !== '') this.onJunk('unparsable message');
      return;
    }
    if (this.trusted && !this.trusted.allows(frame.source.host)) this.onUntrusted(decoded, frame);
    else if (decoded.message.status !== undefined) this.onResponse(decoded);
    else void this.onRequest(decoded, frame);
  }

  /**
   * Over `maxHeaderBytes`/`maxBodyBytes` (only a datagram can be: the TCP framer enforces both). From a
   * trusted peer a request is answered 513 statelessly, from its routing headers alone (RFC 3261
   * §21.5.14); anything else is dropped unparsed. Nothing of it is kept.
   */
  private onOversize(frame: InboundFrame): void {
    this.counters.oversizeMessages += 1;
    if (this.trusted && !this.trusted.allows(frame.source.host)) {
      this.counters.untrusted += 1;
      return;
    }
    const reduced = responseHeadersOnly(frame.data, this.limits.maxHeaderBytes);
    const decoded = reduced ? decodeMessage(reduced) : undefined;
    const method = decoded?.message.method;
    if (!decoded || method === undefined || method === 'ACK' || missingMandatoryHeader(decoded)) return;
    this.logger.debug({ source: frame.source.host, method, bytes: frame.data.length }, 'message too large');
    this.answerStatelessly(decoded, frame, { status: SentStatus.tooLarge, reason: 'Message Too Large' });
  }

  /** A response sent once and forgotten: no server transaction, nothing held (403, 503 at the cap, 513). */
  private answerStatelessly(request: DecodedMessage, frame: InboundFrame, reply: IncomingReply): void {
    const binding = this.bindings.find((b) => b.bound === frame.local);
    responder(request, frame, binding, this.logger)(buildResponse(request, frame.source, reply, newTag()));
  }

  /** Not from a trusted peer: a response is dropped, a request answered 403 statelessly (never ACK). */
  private onUntrusted(decoded: DecodedMessage, frame: InboundFrame): void {
    this.counters.untrusted += 1;
    this.logger.debug({ source: frame.source.host, method: decoded.message.method, status: decoded.message.status }, 'untrusted peer');
    if (decoded.message.status !== undefined || decoded.message.method === 'ACK' || missingMandatoryHeader(decoded)) return;
    this.answerStatelessly(decoded, frame, { status: SentStatus.peerUntrusted, reason: 'Forbidden' });
  }

  /** RFC 3261 §17.1.3: match by top Via branch and CSeq method. */
  private onResponse(response: DecodedMessage): void {
    const branch = response.message.headers.via?.[0]?.params.branch;
    const method = response.message.headers.cseq?.method;
    const status = response.message.status ?? 0;
    this.counters.responseReceived(status);
    const tx = branch && method ? this.clientTransactions.get(`${branch}|${method}`) : undefined;
    if (!tx) {
      this.counters.strayResponses += 1;
      this.logger.debug({ status, branch }, 'stray response dropped');
      return;
    }
    tx.receiveResponse({ status, decoded: response });
  }

  private async onRequest(request: DecodedMessage, frame: InboundFrame): Promise<void> {
    const method = request.message.method ?? '';
    this.counters.requestReceived(method);
    const via = request.message.headers.via?.[0];
    if (!via || method === 'ACK') return; // nowhere to answer / ACK is never answered (§17.2.1)
    const key = serverTransactionKey(request);
    const resent = this.serverTransactions.absorb(key);
    if (resent !== undefined) {
      if (resent) this.counters.retransmissions += 1;
      return;
    }
    if (this.serverTransactions.full()) {
      // RFC 3261 §21.5.4: 503 with Retry-After; stateless, so the refusal itself holds nothing.
      this.counters.serverTransactionsRefused += 1;
      if (!missingMandatoryHeader(request)) {
        this.answerStatelessly(request, frame, {
          status: SentStatus.overloaded,
          headers: { 'Retry-After': String(this.limits.retryAfterSeconds) },
        });
      }
      return;
    }
    const binding = this.bindings.find((b) => b.bound === frame.local);
    // Its callbacks outlive the request by Timer J (64·T1 on UDP): they are built outside this scope so
    // that they hold where to answer and the table key, never the request or its datagram.
    const tx = this.serverTransactions.add(
      key,
      (hooks) =>
        new NonInviteServerTransaction({
          reliable: binding?.reliable ?? frame.source.transport === 'tcp',
          timers: this.timers,
          sendResponse: responder(request, frame, binding, this.logger),
          ...hooks,
        }),
    );
    const missing = missingMandatoryHeader(request);
    if (missing) {
      tx.respond(SentStatus.invalid, buildResponse(request, frame.source, { status: SentStatus.invalid, reason: missing }, newTag()));
      return;
    }
    if (method === 'NOTIFY') {
      this.onNotify(request, frame, tx);
      return;
    }
    let reply: IncomingReply;
    if (request.message.headers.to?.params?.tag) {
      reply = { status: 481 }; // no other dialogs exist here (RFC 3261 §12.2.2)
    } else if (method === 'MESSAGE' || method === 'OPTIONS') {
      reply = await this.answer(request, frame);
    } else {
      reply = { status: SentStatus.methodNotAllowed, headers: { Allow: ALLOWED_METHODS.join(', ') } };
    }
    if (!this.running) return;
    tx.respond(reply.status, buildResponse(request, frame.source, reply, newTag()));
  }

  private onNotify(request: DecodedMessage, frame: InboundFrame, tx: NonInviteServerTransaction): void {
    const callId = request.message.headers['call-id'];
    const toTag = request.message.headers.to?.params?.tag;
    const dialog = toTag ? this.dialogs.get(`${callId}|${toTag}`) : undefined;
    const outcome = dialog ? dialog.handleNotify(request) : { status: SentStatus.noDialog, afterReply: undefined };
    tx.respond(outcome.status, buildResponse(request, frame.source, { status: outcome.status, reason: outcome.reason }, newTag()));
    outcome.afterReply?.();
  }

  private async answer(request: DecodedMessage, frame: InboundFrame): Promise<IncomingReply> {
    const allow = { Allow: ALLOWED_METHODS.join(', ') };
    if (!this.handler) return request.message.method === 'OPTIONS' ? { status: 200, headers: allow } : { status: 200 };
    try {
      return await this.handler({
        method: request.message.method ?? '',
        requestUri: request.message.uri ?? '',
        from: request.message.headers.from?.uri ?? '',
        to: request.message.headers.to?.uri ?? '',
        headers: request.headers,
        body: request.body,
        source: frame.source,
      });
    } catch (error) {
      this.logger.warn({ err: error }, 'incoming request handler failed');
      return { status: SentStatus.handlerFailed };
    }
  }
}

/**
 * How to answer `request`, resolved now and holding only that: UDP → the RFC 3581 destination from
 * `binding`; TCP → the same connection, else a new one to the source and the Via port (§18.2.2).
 */
function responder(
  request: DecodedMessage,
  frame: InboundFrame,
  binding: SipTransportBinding | undefined,
  logger: Logger,
): (bytes: Buffer) => void {
  const failed = (error: unknown): void => logger.debug({ err: error }, 'response send failed');
  if (frame.source.transport === 'udp' && binding) {
    // A copy: the host may be a slice of the request text, which this closure outlives (Timer J).
    const to = udpResponseDestination(request, frame.source);
    const destination = { host: Buffer.from(to.host, 'utf8').toString('utf8'), port: to.port };
    return (bytes) => void binding.send(destination, bytes).catch(failed);
  }
  const reply = frame.reply;
  const fallback = { host: frame.source.host, port: request.message.headers.via?.[0]?.port ?? 5060 };
  return (bytes) =>
    void reply(bytes)
      .catch(() => binding?.send(fallback, bytes))
      .catch(failed);
}

/** Inbound TCP connections held and refused, summed over the TCP listen addresses. */
export interface TcpStats {
  inboundConnections: number;
  refused: Record<string, number>;
  messageTimeouts: number;
}

/**
 * The transaction's (re)transmit closure, in its own scope: closures made inside `sendRequest` share one
 * context, so a `send` built there would keep the encoded bytes alive as long as `onTerminated` (Timer K).
 */
function sendOnce(binding: SipTransportBinding, destination: Destination, bytes: Buffer): () => Promise<void> {
  return () => binding.send(destination, bytes);
}

/** RFC 3261 §17.2.3: branch + sent-by + method (RFC 2543 requests fall back to dialog/CSeq identifiers). */
function serverTransactionKey(request: DecodedMessage): string {
  const h = request.message.headers;
  const via = h.via![0];
  const sentBy = `${via.host}:${via.port ?? ''}`;
  const method = request.message.method ?? '';
  const branch = via.params.branch ?? '';
  const key = branch.startsWith(BRANCH_COOKIE)
    ? `${branch}|${sentBy}|${method}`
    : `legacy|${h['call-id']}|${h.cseq?.seq}|${h.from?.params?.tag}|${sentBy}|${method}`;
  // The parts are slices of the request's header text, and V8 keeps a sliced string's whole parent
  // alive: a fresh copy, or the key (held until Timer J) would pin the entire request.
  return Buffer.from(key, 'utf8').toString('utf8');
}

async function resolveHost(host: string): Promise<string> {
  const bare = host.replace(/^\[|\]$/g, '');
  if (net.isIP(bare)) return bare;
  try {
    return (await dns.lookup(bare)).address;
  } catch (error) {
    throw new SipRequestError('transport', `cannot resolve ${bare}`, { cause: error });
  }
}

/** Creates the embedded engine (not started). */
export function createEmbeddedEngine(options: EmbeddedEngineOptions): SipEngine {
  return new EmbeddedEngine(options);
}

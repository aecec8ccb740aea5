import net from 'node:net';
import type { Logger } from 'pino';
import type { BoundAddress, ListenAddress } from '../port.js';
import { DEFAULT_SIP_LIMITS, type SipTcpLimits } from './sip-limits.js';
import { StreamFramer, type StreamFramerLimits } from './stream-framer.js';
import type { Destination, SipTransportBinding, TransportEvents } from './transport.js';

export interface TcpTransportOptions {
  limits: StreamFramerLimits;
  /** Connection caps, the per-message deadline and the idle timeout (config `sip.limits.tcp`). */
  tcp?: Partial<SipTcpLimits>;
  /**
   * Decides at accept whether a peer may hold a connection at all (the trusted-peers check): a refused
   * one is closed before it can send a byte's worth of state. Absent: everyone.
   */
  acceptPeer?: (host: string) => boolean;
  /** Connect timeout for outbound connections (default 5 s). */
  connectTimeoutMs?: number;
}

/** Why an inbound connection was closed at accept. */
export type TcpRefusal = 'untrusted' | 'connection-limit' | 'peer-connection-limit';

const WILDCARDS = new Set(['0.0.0.0', '::']);

/**
 * SIP over TCP (RFC 3261 §18): a server accepting inbound connections, and outbound connections opened
 * on demand and reused per remote host:port (inbound ones are reused too). Responses to requests that
 * came in on a connection go back on that connection (§18.2.2).
 */
export class TcpTransport implements SipTransportBinding {
  readonly transport = 'tcp' as const;
  readonly reliable = true;
  private server?: net.Server;
  private boundAddress?: BoundAddress;
  private readonly connections = new Map<string, Promise<net.Socket>>();
  private readonly sockets = new Set<net.Socket>();
  /** Inbound connections held, in all and per source address (outbound ones are ours and not counted). */
  private inbound = 0;
  private readonly inboundPerPeer = new Map<string, number>();
  private readonly tcpLimits: SipTcpLimits;
  /** Counts of connections closed at accept, by reason. */
  readonly refused: Record<TcpRefusal, number> = { untrusted: 0, 'connection-limit': 0, 'peer-connection-limit': 0 };
  /** Connections cut because a message was not complete within `messageTimeoutMs`. */
  messageTimeouts = 0;

  constructor(
    private readonly listen: ListenAddress,
    private readonly events: TransportEvents,
    private readonly logger: Logger,
    private readonly options: TcpTransportOptions,
  ) {
    this.tcpLimits = { ...DEFAULT_SIP_LIMITS.tcp, ...options.tcp };
  }

  /** Inbound connections currently held. */
  get inboundConnections(): number {
    return this.inbound;
  }

  get bound(): BoundAddress | undefined {
    return this.boundAddress;
  }

  start(): Promise<BoundAddress> {
    const server = net.createServer((socket) => this.accept(socket));
    this.server = server;
    return new Promise((resolve, reject) => {
      const onListenError = (error: Error): void => {
        this.server = undefined;
        reject(new Error(`cannot listen on TCP ${this.listen.host}:${this.listen.port}: ${error.message}`, { cause: error }));
      };
      server.once('error', onListenError);
      server.listen({ host: this.listen.host, port: this.listen.port, exclusive: true }, () => {
        server.off('error', onListenError);
        server.on('error', (error) => this.logger.warn({ err: error }, 'TCP server error'));
        const address = server.address() as net.AddressInfo;
        this.boundAddress = { host: this.listen.host, port: address.port, transport: 'tcp' };
        resolve(this.boundAddress);
      });
    });
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    this.connections.clear();
    this.inbound = 0;
    this.inboundPerPeer.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  async send(destination: Destination, data: Buffer): Promise<void> {
    let socket = await this.connection(destination);
    if (socket.destroyed || !socket.writable) {
      // closed but not yet forgotten: reconnect once
      this.connections.delete(keyOf(destination.host, destination.port));
      socket = await this.connection(destination);
    }
    await write(socket, data);
  }

  private connection(destination: Destination): Promise<net.Socket> {
    if (!this.server) return Promise.reject(new Error('TCP transport is not running'));
    const key = keyOf(destination.host, destination.port);
    const existing = this.connections.get(key);
    if (existing) return existing;
    const connecting = new Promise<net.Socket>((resolve, reject) => {
      const localAddress = WILDCARDS.has(this.listen.host) ? undefined : this.listen.host;
      const socket = net.connect({ host: destination.host, port: destination.port, localAddress });
      const timer = setTimeout(() => socket.destroy(new Error('connect timeout')), this.options.connectTimeoutMs ?? 5000);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve(socket);
      });
      socket.once('error', (error) => {
        clearTimeout(timer);
        this.connections.delete(key);
        reject(error);
      });
      this.adopt(socket, key);
    });
    this.connections.set(key, connecting);
    return connecting;
  }

  /**
   * An inbound connection: the peer's address is checked before anything is read (a refused peer must not
   * be able to park bytes or a file descriptor here), then the caps, in all and per peer.
   */
  private accept(socket: net.Socket): void {
    const peer = bareAddress(socket.remoteAddress ?? '');
    const refusal = this.refusal(peer);
    if (refusal) {
      this.refused[refusal] += 1;
      this.logger.debug({ peer, refusal }, 'TCP connection refused');
      socket.destroy();
      return;
    }
    this.inbound += 1;
    this.inboundPerPeer.set(peer, (this.inboundPerPeer.get(peer) ?? 0) + 1);
    socket.once('close', () => {
      this.inbound -= 1;
      const left = (this.inboundPerPeer.get(peer) ?? 1) - 1;
      if (left > 0) this.inboundPerPeer.set(peer, left);
      else this.inboundPerPeer.delete(peer);
    });
    this.adopt(socket);
  }

  private refusal(peer: string): TcpRefusal | undefined {
    if (this.options.acceptPeer && !this.options.acceptPeer(peer)) return 'untrusted';
    if (this.inbound >= this.tcpLimits.maxConnections) return 'connection-limit';
    if ((this.inboundPerPeer.get(peer) ?? 0) >= this.tcpLimits.maxConnectionsPerPeer) return 'peer-connection-limit';
    return undefined;
  }

  /** Wires framing, the message deadline, idle close and bookkeeping for a connection (inbound or outbound). */
  private adopt(socket: net.Socket, outboundKey?: string): void {
    this.sockets.add(socket);
    const framer = new StreamFramer(this.options.limits);
    let key = outboundKey;
    const register = (): void => {
      if (key || socket.remoteAddress === undefined || socket.remotePort === undefined) return;
      key = keyOf(socket.remoteAddress, socket.remotePort);
      if (!this.connections.has(key)) this.connections.set(key, Promise.resolve(socket));
    };
    if (!outboundKey) register();
    socket.setTimeout(this.tcpLimits.idleTimeoutMs, () => socket.end());
    // One deadline per message, armed by its first byte and not moved by later ones: a peer trickling a
    // byte at a time keeps an idle timer alive forever, this it cannot.
    let deadline: NodeJS.Timeout | undefined;
    const armDeadline = (): void => {
      clearTimeout(deadline);
      deadline = setTimeout(() => {
        this.messageTimeouts += 1;
        this.events.onJunk('TCP message not complete within the deadline', {
          host: socket.remoteAddress ?? '',
          port: socket.remotePort ?? 0,
        });
        socket.destroy();
      }, this.tcpLimits.messageTimeoutMs);
    };
    socket.on('error', (error) => this.logger.debug({ err: error }, 'TCP connection error'));
    socket.on('close', () => {
      clearTimeout(deadline);
      this.sockets.delete(socket);
      if (key) {
        const current = this.connections.get(key);
        // only forget the entry if it is still this socket's (a new connection may have replaced it)
        void current?.then((s) => s === socket && this.connections.delete(key!)).catch(() => undefined);
      }
    });
    socket.on('data', (chunk: Buffer) => {
      const partialBefore = framer.buffered > 0;
      const { frames, error } = framer.push(chunk);
      if (framer.buffered === 0) {
        clearTimeout(deadline);
        deadline = undefined;
      } else if (!partialBefore || frames.length > 0) {
        armDeadline(); // a new message has begun
      }
      const source: BoundAddress = {
        host: socket.remoteAddress ?? '',
        port: socket.remotePort ?? 0,
        transport: 'tcp',
      };
      const local = this.boundAddress;
      if (!local) return;
      for (const data of frames) {
        this.events.onFrame({ data, source, local, reply: (bytes) => write(socket, bytes) });
      }
      if (error) {
        this.events.onJunk(`TCP stream ${error}`, source);
        socket.destroy();
      }
    });
  }
}

function keyOf(host: string, port: number): string {
  return `${bareAddress(host)}:${port}`;
}

/** The IPv4 address behind an IPv4-mapped IPv6 one (a dual-stack listener reports `::ffff:a.b.c.d`). */
function bareAddress(host: string): string {
  return host.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '');
}

function write(socket: net.Socket, data: Buffer): Promise<void> {
  if (socket.destroyed || !socket.writable) return Promise.reject(new Error('TCP connection closed'));
  return new Promise((resolve, reject) => socket.write(data, (error) => (error ? reject(error) : resolve())));
}

import net from 'node:net';
import type { Logger } from 'pino';
import type { BoundAddress, ListenAddress } from '../port.js';
import { StreamFramer, type StreamFramerLimits } from './stream-framer.js';
import type { Destination, SipTransportBinding, TransportEvents } from './transport.js';

export interface TcpTransportOptions {
  limits: StreamFramerLimits;
  /** Connections with no traffic for this long are closed (default 120 s). */
  idleTimeoutMs?: number;
  /** Connect timeout for outbound connections (default 5 s). */
  connectTimeoutMs?: number;
}

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

  constructor(
    private readonly listen: ListenAddress,
    private readonly events: TransportEvents,
    private readonly logger: Logger,
    private readonly options: TcpTransportOptions,
  ) {}

  get bound(): BoundAddress | undefined {
    return this.boundAddress;
  }

  start(): Promise<BoundAddress> {
    const server = net.createServer((socket) => this.adopt(socket));
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

  /** Wires framing, idle close and bookkeeping for a connection (inbound or outbound). */
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
    socket.setTimeout(this.options.idleTimeoutMs ?? 120_000, () => socket.end());
    socket.on('error', (error) => this.logger.debug({ err: error }, 'TCP connection error'));
    socket.on('close', () => {
      this.sockets.delete(socket);
      if (key) {
        const current = this.connections.get(key);
        // only forget the entry if it is still this socket's (a new connection may have replaced it)
        void current?.then((s) => s === socket && this.connections.delete(key!)).catch(() => undefined);
      }
    });
    socket.on('data', (chunk: Buffer) => {
      const { frames, error } = framer.push(chunk);
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
  return `${host.replace(/^::ffff:/, '')}:${port}`;
}

function write(socket: net.Socket, data: Buffer): Promise<void> {
  if (socket.destroyed || !socket.writable) return Promise.reject(new Error('TCP connection closed'));
  return new Promise((resolve, reject) => socket.write(data, (error) => (error ? reject(error) : resolve())));
}

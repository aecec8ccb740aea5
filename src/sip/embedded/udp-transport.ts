import dgram from 'node:dgram';
import net from 'node:net';
import type { Logger } from 'pino';
import type { BoundAddress, ListenAddress } from '../port.js';
import type { Destination, SipTransportBinding, TransportEvents } from './transport.js';

/** SIP over UDP (RFC 3261 §18.1.1 / §18.2.1): one socket per listen address, used to send and receive. */
export class UdpTransport implements SipTransportBinding {
  readonly transport = 'udp' as const;
  readonly reliable = false;
  private socket?: dgram.Socket;
  private boundAddress?: BoundAddress;

  constructor(
    private readonly listen: ListenAddress,
    private readonly events: TransportEvents,
    private readonly logger: Logger,
  ) {}

  get bound(): BoundAddress | undefined {
    return this.boundAddress;
  }

  start(): Promise<BoundAddress> {
    const type = net.isIPv6(this.listen.host) ? 'udp6' : 'udp4';
    const socket = dgram.createSocket({ type, reuseAddr: false });
    this.socket = socket;
    return new Promise((resolve, reject) => {
      const onBindError = (error: Error): void => {
        socket.close();
        this.socket = undefined;
        reject(new Error(`cannot bind UDP ${this.listen.host}:${this.listen.port}: ${error.message}`, { cause: error }));
      };
      socket.once('error', onBindError);
      socket.on('message', (data, rinfo) => this.receive(data, rinfo));
      socket.bind(this.listen.port, this.listen.host, () => {
        socket.off('error', onBindError);
        socket.on('error', (error) => this.logger.warn({ err: error }, 'UDP socket error'));
        const address = socket.address();
        this.boundAddress = { host: this.listen.host, port: address.port, transport: 'udp' };
        resolve(this.boundAddress);
      });
    });
  }

  stop(): Promise<void> {
    const socket = this.socket;
    this.socket = undefined;
    if (!socket) return Promise.resolve();
    return new Promise((resolve) => socket.close(() => resolve()));
  }

  send(destination: Destination, data: Buffer): Promise<void> {
    const socket = this.socket;
    if (!socket) return Promise.reject(new Error('UDP transport is not running'));
    return new Promise((resolve, reject) => {
      socket.send(data, destination.port, destination.host, (error) => (error ? reject(error) : resolve()));
    });
  }

  private receive(data: Buffer, rinfo: dgram.RemoteInfo): void {
    const local = this.boundAddress;
    if (!local) return;
    const source: BoundAddress = { host: rinfo.address, port: rinfo.port, transport: 'udp' };
    this.events.onFrame({
      data,
      source,
      local,
      reply: (bytes) => this.send(source, bytes),
    });
  }
}

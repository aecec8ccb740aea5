import dgram from 'node:dgram';
import net from 'node:net';
import type { Logger } from 'pino';
import type { BoundAddress, ListenAddress } from '../port.js';
import type { Destination, SipTransportBinding, TransportEvents } from './transport.js';

/**
 * The receive buffer asked for (SO_RCVBUF). Datagrams that arrive while the event loop is busy (a GC
 * pause, a NOTIFY wave being parsed) wait there; the kernel default (about 200 KB, a few hundred small
 * datagrams on loopback) overflowed under the refresh wave of a 100k-user watch list, and every lost 200
 * or NOTIFY came back as a retransmission or a timed-out SUBSCRIBE. Linux grants at most
 * `net.core.rmem_max` (raise it to 4 MB or more on a large agent; docs/deploying.md).
 */
export const UDP_RECEIVE_BUFFER_BYTES = 4 * 1024 * 1024;

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
        this.growReceiveBuffer(socket);
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

  private growReceiveBuffer(socket: dgram.Socket): void {
    try {
      socket.setRecvBufferSize(UDP_RECEIVE_BUFFER_BYTES);
      // Linux reports twice what it granted (bookkeeping included); less than asked means rmem_max is lower.
      const granted = socket.getRecvBufferSize() / 2;
      if (granted < UDP_RECEIVE_BUFFER_BYTES)
        this.logger.info({ asked: UDP_RECEIVE_BUFFER_BYTES, granted }, 'UDP receive buffer smaller than asked (net.core.rmem_max)');
    } catch (error) {
      this.logger.info({ err: error }, 'UDP receive buffer size not set');
    }
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

import type { BoundAddress, SipTransport } from '../port.js';

/** Where to send bytes: an IP literal and port. */
export interface Destination {
  host: string;
  port: number;
}

/** One whole message's bytes as received, with where it came from and how to answer on the same flow. */
export interface InboundFrame {
  data: Buffer;
  source: BoundAddress;
  /** The local address it arrived on. */
  local: BoundAddress;
  /** Sends bytes back on the same flow (the same TCP connection, or from the same UDP socket). */
  reply(data: Buffer): Promise<void>;
}

export interface TransportEvents {
  onFrame(frame: InboundFrame): void;
  /** Bytes that could not be framed (UDP datagram without a header end, TCP flood). Counted, not fatal. */
  onJunk(reason: string, source: Destination): void;
}

/** A listening SIP transport (RFC 3261 §18). */
export interface SipTransportBinding {
  readonly transport: SipTransport;
  /** RFC 3261 §17: reliable transports skip retransmissions and zero Timers J/K. */
  readonly reliable: boolean;
  /** Binds; rejects with a clear message when the address cannot be bound. */
  start(): Promise<BoundAddress>;
  stop(): Promise<void>;
  /** The bound address (after start). */
  readonly bound: BoundAddress | undefined;
  /** Sends one message; rejects on transport failure (refused, unreachable, closed). */
  send(destination: Destination, data: Buffer): Promise<void>;
}

/**
 * Wire-level probes without tcpdump: an OPTIONS ping (RFC 3261 §11) to check a SIP listener answers,
 * and per-method request counters read from Kamailio's own statistics (`core:rcv_requests_<method>`),
 * which is how a test proves that zero (or exactly N) SIP requests reached the SIP core.
 */
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { randomBytes } from 'node:crypto';

export type PingTransport = 'udp' | 'tcp';

/** Anything that can report Kamailio statistics (a {@link KamailioHandle} does). */
export interface StatsSource {
  stats(): Promise<Record<string, number>>;
}

/** Requests received per method, lower-case (`message`, `subscribe`, ...), plus `total`. */
export type RequestCounts = Record<string, number>;

const PREFIX = 'core:rcv_requests';

/** Per-method counts of requests Kamailio received (retransmissions included: it counts datagrams). */
export async function requestCounts(source: StatsSource): Promise<RequestCounts> {
  const stats = await source.stats();
  const counts: RequestCounts = {};
  for (const [name, value] of Object.entries(stats)) {
    if (name === PREFIX) counts.total = value;
    else if (name.startsWith(`${PREFIX}_`)) counts[name.slice(PREFIX.length + 1)] = value;
  }
  return counts;
}

/** A snapshot now; `delta()` later gives what arrived in between (per method, 0 when none). */
export async function requestCounter(source: StatsSource): Promise<{ delta(): Promise<RequestCounts> }> {
  const before = await requestCounts(source);
  return {
    async delta() {
      const after = await requestCounts(source);
      const out: RequestCounts = {};
      for (const [method, value] of Object.entries(after)) out[method] = value - (before[method] ?? 0);
      return out;
    },
  };
}

/** Build an OPTIONS request to `sip:host:port` from a local address. */
function optionsRequest(host: string, port: number, transport: PingTransport, local: string): string {
  const id = randomBytes(6).toString('hex');
  return [
    `OPTIONS sip:${host}:${port} SIP/2.0`,
    `Via: SIP/2.0/${transport.toUpperCase()} ${local};branch=z9hG4bK-ping-${id}`,
    'Max-Forwards: 70',
    `From: <sip:harness@${host}>;tag=${id}`,
    `To: <sip:${host}:${port}>`,
    `Call-ID: ping-${id}@harness`,
    'CSeq: 1 OPTIONS',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

/** The status code of the first response line in `text`, or undefined. */
function statusOf(text: string): number | undefined {
  const m = /^SIP\/2\.0 (\d{3})/.exec(text);
  return m ? Number(m[1]) : undefined;
}

/**
 * Send one OPTIONS to `host:port` and resolve to the final status code, or undefined when nothing
 * answered within `timeoutMs` (or the connection was refused).
 */
export function optionsPing(host: string, port: number, transport: PingTransport = 'udp', timeoutMs = 1_000): Promise<number | undefined> {
  return transport === 'udp' ? pingUdp(host, port, timeoutMs) : pingTcp(host, port, timeoutMs);
}

function pingUdp(host: string, port: number, timeoutMs: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const sock = createSocket('udp4');
    const finish = (status: number | undefined) => {
      clearTimeout(timer);
      sock.close();
      resolve(status);
    };
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    sock.on('error', () => finish(undefined));
    sock.on('message', (msg) => {
      const status = statusOf(msg.toString('latin1'));
      if (status !== undefined && status >= 200) finish(status);
    });
    sock.bind(0, '127.0.0.1', () => {
      const local = `127.0.0.1:${sock.address().port}`;
      sock.send(optionsRequest(host, port, 'udp', local), port, host);
    });
  });
}

function pingTcp(host: string, port: number, timeoutMs: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const sock = connect({ host, port });
    let received = '';
    const finish = (status: number | undefined) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(status);
    };
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    sock.on('error', () => finish(undefined));
    sock.on('connect', () => {
      sock.write(optionsRequest(host, port, 'tcp', `${sock.localAddress}:${sock.localPort}`));
    });
    sock.on('data', (chunk) => {
      received += chunk.toString('latin1');
      const status = statusOf(received);
      if (status !== undefined && status >= 200) finish(status);
    });
  });
}

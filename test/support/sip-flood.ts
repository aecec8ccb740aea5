/**
 * Bounded SIP floods against a running agent and the probes that judge them: the agent process's resident
 * memory and open file descriptors read from /proc. Every flood is bounded in count and in time.
 */
import dgram from 'node:dgram';
import { readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { letTimePass } from './poll.js';

/** VmRSS of `pid` in MiB (Linux /proc). */
export function rssMb(pid: number): number {
  const kb = Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
  return kb / 1024;
}

/** Open file descriptors of `pid`. */
export function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** Samples `probe` every `everyMs` until `stop()`; `max` is the largest value seen. */
export function sampler(probe: () => number, everyMs = 100): { max(): number; stop(): number } {
  let max = probe();
  const timer = setInterval(() => {
    try {
      max = Math.max(max, probe());
    } catch {
      // the process is gone: the test's own checks say so
    }
  }, everyMs);
  return {
    max: () => max,
    stop() {
      clearInterval(timer);
      return max;
    },
  };
}

export interface FloodRequest {
  method: string;
  /** Where the request is sent (Request-URI host:port). */
  to: { host: string; port: number };
  /** The Via sent-by, i.e. where the sender listens. */
  via: { host: string; port: number; transport: 'UDP' | 'TCP' };
  branch: string;
  /** Filler header bytes (an `X-Filler` header). */
  filler?: number;
  toTag?: string;
}

/** One well-formed SIP request (RFC 3261 §8.1.1 mandatory headers), no body. */
export function floodRequest(r: FloodRequest): Buffer {
  const lines = [
    `${r.method} sip:agent@${r.to.host}:${r.to.port} SIP/2.0`,
    `Via: SIP/2.0/${r.via.transport} ${r.via.host}:${r.via.port};branch=${r.branch};rport`,
    'Max-Forwards: 70',
    `From: <sip:flood@${r.via.host}>;tag=fl`,
    `To: <sip:agent@${r.to.host}>${r.toTag ? `;tag=${r.toTag}` : ''}`,
    `Call-ID: ${r.branch}@flood`,
    `CSeq: 1 ${r.method}`,
  ];
  if (r.method === 'NOTIFY') lines.push('Event: presence', 'Subscription-State: active;expires=60');
  if (r.filler) lines.push(`X-Filler: ${'a'.repeat(r.filler)}`);
  lines.push('Content-Length: 0');
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
}

export interface UdpFloodResult {
  sent: number;
  /** Final status → count of the responses the flooder received. */
  statuses: Record<number, number>;
  /** Raw text of the first response per status. */
  samples: Record<number, string>;
}

/**
 * Sends `count` requests from `sourceHost` at most `perSecond`, keeping at most `window` unanswered (a
 * request unanswered for 300 ms counts as lost): a closed loop, so the flood runs as fast as the agent
 * reads instead of overflowing its socket buffer. Then listens `settleMs` more for answers. Gives up
 * sending after `maxMs` whatever the count. `make(i, local)` builds request i.
 */
export async function udpFlood(options: {
  sourceHost: string;
  to: { host: string; port: number };
  count: number;
  perSecond: number;
  window: number;
  maxMs: number;
  settleMs?: number;
  make: (i: number, local: { host: string; port: number }) => Buffer;
}): Promise<UdpFloodResult> {
  const socket = dgram.createSocket('udp4');
  const result: UdpFloodResult = { sent: 0, statuses: {}, samples: {} };
  const outstanding: number[] = [];
  socket.on('message', (msg) => {
    const text = msg.toString('latin1');
    const status = Number(/^SIP\/2\.0 (\d{3})/.exec(text)?.[1]);
    if (!status) return;
    outstanding.shift();
    result.statuses[status] = (result.statuses[status] ?? 0) + 1;
    result.samples[status] ??= text.slice(0, 2000);
  });
  socket.on('error', () => undefined);
  await new Promise<void>((resolve) => socket.bind(0, options.sourceHost, () => resolve()));
  const local = { host: options.sourceHost, port: socket.address().port };
  const started = Date.now();
  try {
    while (result.sent < options.count && Date.now() - started < options.maxMs) {
      const now = Date.now();
      while (outstanding.length > 0 && now - outstanding[0]! > 300) outstanding.shift();
      const byRate = Math.floor(((now - started) / 1000) * options.perSecond) + 1 - result.sent;
      const batch = Math.min(options.window - outstanding.length, byRate, options.count - result.sent);
      const sends: Promise<void>[] = [];
      for (let i = 0; i < batch; i += 1) {
        const bytes = options.make(result.sent, local);
        result.sent += 1;
        outstanding.push(now);
        sends.push(new Promise((resolve) => socket.send(bytes, options.to.port, options.to.host, () => resolve())));
      }
      await Promise.all(sends);
      await letTimePass(batch > 0 ? 0 : 1); // lets the answers in between batches; the rate sets the pace
    }
    await letTimePass(options.settleMs ?? 500); // answers that arrive within settleMs still count: part of the measure
  } finally {
    socket.close();
  }
  return result;
}

/** TCP connections opened from `sourceHost`; `open` counts the ones the far end has not closed. */
export interface HeldConnections {
  sockets: net.Socket[];
  open(): number;
  /** Connections whose first close came from the far end, with when. */
  closedByPeerAtMs: number[];
  destroy(): void;
}

/**
 * Opens `count` TCP connections from `sourceHost` (at most `maxMs` spent opening), each writing `first`
 * once connected. Connections the far end refuses or closes are counted, not thrown.
 */
export async function openConnections(options: {
  sourceHost: string;
  to: { host: string; port: number };
  count: number;
  maxMs: number;
  first?: Buffer;
}): Promise<HeldConnections> {
  const sockets: net.Socket[] = [];
  const closedByPeerAtMs: number[] = [];
  let open = 0;
  const started = Date.now();
  const batch = 50;
  for (let i = 0; i < options.count && Date.now() - started < options.maxMs; i += batch) {
    const n = Math.min(batch, options.count - i);
    await Promise.all(
      Array.from(
        { length: n },
        () =>
          new Promise<void>((resolve) => {
            const socket = net.connect({ host: options.to.host, port: options.to.port, localAddress: options.sourceHost });
            sockets.push(socket);
            let counted = false;
            socket.on('error', () => resolve());
            socket.on('data', () => undefined);
            socket.once('connect', () => {
              open += 1;
              counted = true;
              if (options.first) socket.write(options.first, () => undefined);
              resolve();
            });
            socket.once('close', () => {
              if (counted) {
                open -= 1;
                closedByPeerAtMs.push(Date.now());
              }
              resolve();
            });
            socket.setTimeout(5000, () => resolve());
          }),
      ),
    );
  }
  return {
    sockets,
    open: () => open,
    closedByPeerAtMs,
    destroy() {
      for (const s of sockets) s.destroy();
    },
  };
}

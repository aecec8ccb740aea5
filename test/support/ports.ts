/**
 * Free loopback ports for integration tests. A port is handed out only when both UDP and TCP could bind
 * it (SIP listens on both), and never twice in one test worker.
 *
 * Ports come from below the kernel's ephemeral range (`ip_local_port_range`), one slice per vitest
 * worker: a port asked from the kernel with `bind(0)` is ephemeral, and between the probe and the agent's
 * own bind any outgoing connection on the machine (a PostgreSQL or Redis client, an HTTP client) may be
 * given the same port — seen as a test agent failing to start with "already in use". Ports below the
 * range are never handed to outgoing connections, and the slices keep parallel workers apart.
 */
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { readFileSync } from 'node:fs';

const handedOut = new Set<number>();

/** Bind UDP `host:port` (0 = any); resolves to the bound port, or undefined when it is taken. */
function bindUdp(host: string, port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const sock = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    sock.once('error', () => {
      sock.close();
      resolve(undefined);
    });
    sock.bind(port, host, () => {
      const bound = sock.address().port;
      sock.close(() => resolve(bound));
    });
  });
}

/** Whether TCP `host:port` can be listened on right now. */
function tcpFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ host, port, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** Whether `host:port` is free on both UDP and TCP. */
export async function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return (await bindUdp(host, port)) !== undefined && (await tcpFree(host, port));
}

/** First port of the kernel's ephemeral range (32768 when it cannot be read). */
function ephemeralStart(): number {
  try {
    const first = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(first) && first > 2048 ? first : 32768;
  } catch {
    return 32768;
  }
}

/** This worker's slice of the ports below the ephemeral range: [start, end). */
const slice = (() => {
  const low = 10_000;
  const high = Math.max(low + 2_000, ephemeralStart());
  const slices = 16;
  const size = Math.floor((high - low) / slices);
  const worker = (Math.max(1, Number(process.env.VITEST_POOL_ID ?? 1) || 1) - 1) % slices;
  return { start: low + worker * size, size };
})();
let cursor = Math.floor(Math.random() * slice.size);

/** A port free on both UDP and TCP at `host` (loopback by default). Tries up to 200 candidates. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    cursor = (cursor + 1) % slice.size;
    const port = slice.start + cursor;
    if (handedOut.has(port)) continue;
    if ((await bindUdp(host, port)) !== undefined && (await tcpFree(host, port))) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no port free on both UDP and TCP at ${host} in ${slice.start}–${slice.start + slice.size - 1} after 200 attempts`);
}

/** `count` distinct free ports. */
export async function freePorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  const ports: number[] = [];
  for (let i = 0; i < count; i++) ports.push(await freePort(host));
  return ports;
}

/**
 * Whether some process has `host:port` bound (UDP) or listening (TCP), read from /proc/net without
 * binding anything (a probe bind could steal the port from the process starting up). IPv4 only.
 * Returns undefined where /proc/net is unavailable.
 */
export function isPortBound(port: number, transport: 'udp' | 'tcp', host = '127.0.0.1'): boolean | undefined {
  let table: string;
  try {
    table = readFileSync(`/proc/net/${transport}`, 'utf8');
  } catch {
    return undefined;
  }
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const hexHost = host
    .split('.')
    .map((octet) => Number(octet).toString(16).toUpperCase().padStart(2, '0'))
    .reverse()
    .join('');
  return table.split('\n').some((line) => {
    const cols = line.trim().split(/\s+/);
    const [addr, p] = (cols[1] ?? '').split(':');
    if (p !== hexPort || (addr !== hexHost && addr !== '00000000')) return false;
    return transport === 'udp' || cols[3] === '0A';
  });
}

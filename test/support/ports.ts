/**
 * Free loopback ports for integration tests. A port is handed out only when both UDP and TCP could bind
 * it (SIP listens on both), and never twice in one test worker.
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

/** A port free on both UDP and TCP at `host` (loopback by default). Tries up to 50 candidates. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await bindUdp(host, 0);
    if (port === undefined || handedOut.has(port)) continue;
    if (await tcpFree(host, port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no port free on both UDP and TCP at ${host} after 50 attempts`);
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

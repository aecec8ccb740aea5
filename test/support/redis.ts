/**
 * A private Redis server for a test file: `redis-server` in the foreground on 127.0.0.1 and a free port,
 * no persistence (no RDB, no AOF: a restart starts empty, like a failover to a fresh replica that has not
 * caught up), stopped by pid. Needs the Debian package `redis-server`. See test/support/README.md.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createConnection } from 'node:net';
import { processStartSeq, terminateGroup, trackProcess, untrackProcess } from './cleanup.js';
import { waitUntil } from './poll.js';
import { freePort } from './ports.js';
import { makeTempDir } from './repo-paths.js';

const LOG_LIMIT = 1024 * 1024;

export interface RedisHandle {
  readonly host: string;
  readonly port: number;
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  readonly pid: number;
  stop(): Promise<void>;
  /** Stop and start again on the same port, empty. */
  restart(): Promise<void>;
  pause(): void;
  resume(): void;
  logs(): string;
}

/** Why Redis tests cannot run here, or undefined when they can. */
export function redisMissingReason(): string | undefined {
  const v = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (v.error || v.status !== 0) return 'redis-server not installed (Debian package `redis-server`)';
  return undefined;
}

/** One PING over a fresh TCP connection; true on `+PONG`. */
function ping(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (d) => done(d.toString('latin1').startsWith('+PONG')));
  });
}

export async function startRedis(options: { host?: string; port?: number; startTimeoutMs?: number } = {}): Promise<RedisHandle> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? (await freePort(host));
  const dir = makeTempDir('redis');
  const args = ['--bind', host, '--port', String(port), '--save', '', '--appendonly', 'no', '--dir', dir, '--protected-mode', 'no'];
  let log = '';
  const append = (chunk: Buffer) => {
    log += chunk.toString('utf8');
    if (log.length > LOG_LIMIT) log = log.slice(-LOG_LIMIT / 2);
  };

  async function launch(startedAs?: number): Promise<ChildProcess> {
    const proc = spawn('redis-server', args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout?.on('data', append);
    proc.stderr?.on('data', append);
    const pid = proc.pid;
    if (pid === undefined) throw new Error('redis-server did not spawn');
    trackProcess({ name: 'redis-server', pid, stop: () => terminateGroup(pid) }, startedAs);
    let exited = false;
    proc.once('exit', () => {
      exited = true;
    });
    if ((await waitUntil(async () => exited || (await ping(host, port, 300)), options.startTimeoutMs ?? 10_000, 50)) && !exited)
      return proc;
    await terminateGroup(pid);
    untrackProcess(pid);
    throw new Error(`redis-server did not become ready on ${host}:${port} (exited: ${exited})\n${log.slice(-4000)}`);
  }

  let child = await launch();
  async function stop(): Promise<void> {
    const pid = child.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, 'SIGCONT');
    } catch {
      // already gone
    }
    await terminateGroup(pid);
    untrackProcess(pid);
  }
  return {
    host,
    port,
    url: `redis://${host}:${port}`,
    get pid() {
      return child.pid ?? -1;
    },
    stop,
    async restart() {
      const startedAs = processStartSeq(child.pid ?? -1);
      await stop();
      child = await launch(startedAs);
    },
    pause() {
      if (child.pid) process.kill(-child.pid, 'SIGSTOP');
    },
    resume() {
      if (child.pid) process.kill(-child.pid, 'SIGCONT');
    },
    logs: () => log,
  };
}

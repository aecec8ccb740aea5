/**
 * A private Redis server for a test file: `redis-server` in the foreground on 127.0.0.1 and a free port,
 * no persistence (no RDB, no AOF: a restart starts empty, like a failover to a fresh replica that has not
 * caught up), stopped by pid. Needs the Debian package `redis-server`. See test/support/README.md.
 */
import { spawnSync } from 'node:child_process';
import { createConnection } from 'node:net';
import { groupAlive, processStartSeq, terminateGroup, untrackProcess } from './cleanup.js';
import { freePort } from './ports.js';
import { makeTempDir } from './repo-paths.js';
import { launchServer, serverLog } from './server-process.js';

const LOG_LIMIT = 1024 * 1024;

export interface RedisHandle {
  readonly host: string;
  readonly port: number;
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  readonly pid: number;
  stop(): Promise<void>;
  /** Start again after {@link stop}, on the same port, empty. No-op while running. */
  start(): Promise<void>;
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
  const log = serverLog(LOG_LIMIT);
  const launch = (startedAs?: number) =>
    launchServer({
      name: 'redis-server',
      command: 'redis-server',
      args,
      log,
      ready: () => ping(host, port, 300),
      startTimeoutMs: options.startTimeoutMs ?? 10_000,
      where: `${host}:${port}`,
      startedAs,
    });

  let child = await launch();
  let stoppedSeq: number | undefined;
  async function stop(): Promise<void> {
    const pid = child.pid;
    if (pid === undefined || !groupAlive(pid)) return;
    stoppedSeq = processStartSeq(pid);
    process.kill(-pid, 'SIGCONT'); // a paused server must run to see the SIGTERM
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
    async start() {
      if (child.pid !== undefined && groupAlive(child.pid)) return;
      child = await launch(stoppedSeq);
    },
    async restart() {
      await stop();
      child = await launch(stoppedSeq);
    },
    pause() {
      if (child.pid) process.kill(-child.pid, 'SIGSTOP');
    },
    resume() {
      if (child.pid) process.kill(-child.pid, 'SIGCONT');
    },
    logs: log.text,
  };
}

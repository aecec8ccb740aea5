/**
 * A private PostgreSQL server for a test file: `initdb` into a fresh temp dir, `postgres` in the foreground
 * on 127.0.0.1 and a free port (its Unix socket in the same dir), stopped by pid. PostgreSQL refuses to
 * run as root, so under root the cluster is created and run as the unprivileged `nobody` user (the temp
 * dir is handed to it); otherwise as the current user. Needs the Debian package `postgresql` (its
 * binaries live in /usr/lib/postgresql/<major>/bin, not on PATH). See test/support/README.md.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { PgPushStore } from '../../src/push/store/postgres/pg-push-store.js';
import { migratePostgres } from '../../src/push/store/postgres/pg-schema.js';
import { groupAlive, processStartSeq, terminateGroup, untrackProcess } from './cleanup.js';
import { waitUntil } from './poll.js';
import { freePort } from './ports.js';
import { makeTempDir } from './repo-paths.js';
import { launchServer, serverLog } from './server-process.js';

const LOG_LIMIT = 1024 * 1024;

export interface PostgresHandle {
  readonly host: string;
  readonly port: number;
  /** `postgres://postgres@127.0.0.1:<port>/postgres` — trust auth on loopback, private to this instance. */
  readonly url: string;
  readonly dataDir: string;
  readonly pid: number;
  /** Fast shutdown (SIGINT), then SIGKILL; resolves when the server is gone. */
  stop(): Promise<void>;
  /** Start again after {@link stop}, on the same port and data (an outage that ends). No-op while running. */
  start(): Promise<void>;
  /** Stop (fast) and start again on the same port and data: what a failover or a restart looks like to a client. */
  restart(): Promise<void>;
  /** SIGSTOP / SIGCONT the whole server: connections hang without being refused. */
  pause(): void;
  resume(): void;
  logs(): string;
}

/** The newest installed PostgreSQL's bin directory, or undefined. */
export function postgresBinDir(): string | undefined {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return undefined;
  const majors = readdirSync(base)
    .filter((d) => /^\d+$/.test(d) && existsSync(join(base, d, 'bin', 'postgres')))
    .sort((a, b) => Number(b) - Number(a));
  return majors[0] ? join(base, majors[0], 'bin') : undefined;
}

/** Why PostgreSQL tests cannot run here, or undefined when they can. */
export function postgresMissingReason(): string | undefined {
  const bin = postgresBinDir();
  if (!bin) return 'PostgreSQL server not installed (Debian package `postgresql`)';
  if (process.getuid?.() === 0 && spawnSync('id', ['-u', 'nobody']).status !== 0)
    return 'running as root and no `nobody` user to run PostgreSQL as';
  return undefined;
}

function asServerUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const uid = Number(execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'nobody'], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

/** Create a cluster and start it; resolves once it accepts connections (pg_isready). */
export async function startPostgres(options: { host?: string; port?: number; startTimeoutMs?: number } = {}): Promise<PostgresHandle> {
  const bin = postgresBinDir();
  if (!bin) throw new Error(postgresMissingReason());
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? (await freePort(host));
  const dir = makeTempDir('postgres');
  const dataDir = join(dir, 'data');
  const user = asServerUser();
  if (user) {
    chmodSync(dir, 0o755);
    chownSync(dir, user.uid, user.gid);
  }
  const initdb = spawnSync(
    join(bin, 'initdb'),
    ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C'],
    { encoding: 'utf8', ...(user ?? {}) },
  );
  if (initdb.status !== 0) throw new Error(`initdb failed: ${initdb.stderr || initdb.stdout}`);

  const log = serverLog(LOG_LIMIT);
  const serverArgs = [
    '-D',
    dataDir,
    '-h',
    host,
    '-p',
    String(port),
    '-k',
    dir,
    // Test speed over durability of the test database itself; the agent's own commits are still real.
    '-c',
    'fsync=off',
    '-c',
    'synchronous_commit=on',
    '-c',
    'max_connections=200',
  ];
  const accepts = () =>
    spawnSync(join(bin, 'pg_isready'), ['-h', host, '-p', String(port), '-U', 'postgres', '-t', '1'], { encoding: 'utf8' }).status === 0;
  const launch = (startedAs?: number) =>
    launchServer({
      name: 'postgres',
      command: join(bin, 'postgres'),
      args: serverArgs,
      spawnOptions: user ?? {},
      log,
      ready: accepts,
      startTimeoutMs: options.startTimeoutMs ?? 20_000,
      pollMs: 100,
      where: `${host}:${port}`,
      startedAs,
    });

  let child = await launch();
  let stoppedSeq: number | undefined;

  async function stop(): Promise<void> {
    const pid = child.pid;
    if (pid === undefined || !groupAlive(pid)) return;
    stoppedSeq = processStartSeq(pid);
    // SIGINT is PostgreSQL's "fast shutdown": abort transactions, disconnect clients, stop cleanly.
    process.kill(-pid, 'SIGCONT');
    process.kill(pid, 'SIGINT');
    await waitUntil(() => !groupAlive(pid), 10_000, 50);
    await terminateGroup(pid);
    untrackProcess(pid);
  }

  return {
    host,
    port,
    url: `postgres://postgres@${host}:${port}/postgres`,
    dataDir,
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

/** Opens a store on one fresh database as agent `owner` (a new pool each call, ended after the file). */
export type OpenPgStore = (
  owner: string,
  options?: { leaseMs?: number; now?: () => number },
) => Promise<{ pool: pg.Pool; store: PgPushStore }>;

/**
 * For a test file on the cluster store: a private server for the file (started in `beforeAll`, stopped
 * with every pool in `afterAll`) and `freshDatabase(prefix)` — a new, empty database per call and an
 * opener for stores on it (migrated on open, lease 30 s unless given).
 */
export function usePostgresDatabases(): { freshDatabase(prefix: string): Promise<OpenPgStore> } {
  let server: PostgresHandle | undefined;
  let admin: pg.Pool | undefined;
  let n = 0;
  const pools: pg.Pool[] = [];
  beforeAll(async () => {
    server = await startPostgres();
    admin = new pg.Pool({ connectionString: server.url, max: 2 });
  }, 60_000);
  afterAll(async () => {
    await Promise.all(pools.map((p) => p.end().catch(() => undefined)));
    await admin?.end();
    await server?.stop();
  });
  return {
    async freshDatabase(prefix) {
      if (!server || !admin) throw new Error('usePostgresDatabases: the server is not started (call it inside a describe)');
      const db = `${prefix}_${process.pid}_${n++}`;
      await admin.query(`CREATE DATABASE ${db}`);
      const url = server.url.replace(/\/postgres$/, `/${db}`);
      return async (owner, options = {}) => {
        const pool = new pg.Pool({ connectionString: url, max: 4 });
        pools.push(pool);
        await migratePostgres(pool);
        const store = new PgPushStore({ pool, owner, leaseMs: options.leaseMs ?? 30_000, ...(options.now ? { now: options.now } : {}) });
        return { pool, store };
      };
    },
  };
}

/**
 * The push store the config selects (`store.kind`), with what the agent needs around it: the port the
 * push flow uses, the counts `/metrics` shows, the readiness check, the retention prune, and closing.
 *
 * - `sqlite` (default): one file, one agent (`<path>.lock`, STORE_LOCKED for a second one); unchanged.
 * - `postgres`: a connection pool, the schema migrated at start (safe when agents start together),
 *   and {@link PgPushStore} with this agent's instance id as lease owner. No file lock: agents share the
 *   store by design. The pool gives up connecting after a bound and every query after a bound, so an
 *   unreachable server makes writes fail as STORE_UNWRITABLE (intake answers PAP 4001) rather than hang.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import pg from 'pg';
import type { Logger } from 'pino';
import type { AgentConfig } from '../config/config-schema.js';
import { AgentError, ErrorCodes } from '../errors.js';
import { redactUrl, scrubError } from '../lib/redact-url.js';
import type { OutboxStats } from '../push/outbox/outbox-item.js';
import type { OutboxPort } from '../push/outbox/outbox-port.js';
import { pgOutboxPort } from '../push/store/postgres/pg-outbox-port.js';
import { PgPushStore } from '../push/store/postgres/pg-push-store.js';
import { migratePostgres } from '../push/store/postgres/pg-schema.js';
import { PgStoreStats, prunePg } from '../push/store/postgres/pg-store-upkeep.js';
import type { PushStorePort } from '../push/store/push-store-port.js';
import { sqliteOutboxPort } from '../push/store/sqlite/sqlite-outbox-port.js';
import { sqlitePushStorePort } from '../push/store/sqlite/sqlite-push-store-port.js';
import { PushStore } from '../push/store/sqlite/sqlite-push-store.js';
import { acquireStoreLock, type StoreLock } from '../push/store/sqlite/store-lock.js';

/** Bounds that turn an unreachable PostgreSQL into STORE_UNWRITABLE instead of a hang. */
const PG_CONNECT_TIMEOUT_MS = 3000;
const PG_QUERY_TIMEOUT_MS = 10_000;

export interface OpenedPushStore {
  readonly kind: AgentConfig['store']['kind'];
  /** What the push flow uses. */
  readonly port: PushStorePort;
  /** What the outbox dispatcher uses. */
  readonly outbox: OutboxPort;
  /** The SQLite store (`kind: sqlite`): its outbox, synchronous reads for tests and tools. */
  readonly sqlite: PushStore | undefined;
  /** The PostgreSQL store and its pool (`kind: postgres`). */
  readonly postgres: { store: PgPushStore; pool: pg.Pool; stats: PgStoreStats } | undefined;
  /** Counts for `/metrics` (on PostgreSQL: the whole cluster's, as of the last refresh). */
  readonly stats: {
    countsByState(): Readonly<Record<string, number>>;
    backlog(): number;
    readonly outbox: { stats(): OutboxStats };
  };
  /** Readiness: the store answers (SQLite: the handle is open; PostgreSQL: the latest probe write committed). */
  isOpen(): boolean;
  /** PostgreSQL, once per cluster round: a probe write (readiness) and the counts read again. */
  refresh(): Promise<void>;
  /** Deletes terminal pushes past the retention (errors logged, never thrown). */
  prune(olderThanMs: number): Promise<void>;
  close(): Promise<void>;
}

export async function openPushStore(config: AgentConfig, logger: Logger): Promise<OpenedPushStore> {
  return config.store.kind === 'postgres' ? openPostgres(config, logger) : openSqlite(config);
}

function openSqlite(config: AgentConfig): OpenedPushStore {
  if (config.store.path !== ':memory:') mkdirSync(dirname(config.store.path), { recursive: true });
  let lock: StoreLock | undefined;
  let store: PushStore;
  try {
    lock = acquireStoreLock(config.store.path);
    store = PushStore.open(config.store.path, { synchronous: config.store.synchronous, commitWindowMs: config.store.commitWindowMs });
  } catch (err) {
    lock?.release();
    throw err;
  }
  const held = lock;
  return {
    kind: 'sqlite',
    port: sqlitePushStorePort(store),
    outbox: sqliteOutboxPort(store),
    sqlite: store,
    postgres: undefined,
    stats: store,
    isOpen() {
      try {
        store.sqliteSettings(); // better-sqlite3 refuses a closed handle
        return true;
      } catch {
        return false;
      }
    },
    async refresh() {},
    async prune(olderThanMs) {
      store.prune(olderThanMs);
    },
    async close() {
      store.close();
      held.release();
    },
  };
}

async function openPostgres(config: AgentConfig, logger: Logger): Promise<OpenedPushStore> {
  const url = config.store.postgres.url as string; // the schema requires it with kind postgres
  const log = logger.child({ component: 'postgres' });
  const pool = new pg.Pool({
    connectionString: url,
    max: config.store.postgres.poolSize,
    connectionTimeoutMillis: PG_CONNECT_TIMEOUT_MS,
    query_timeout: PG_QUERY_TIMEOUT_MS,
    application_name: `sip-push-agent ${config.cluster.instanceId}`.slice(0, 63),
  });
  const password = passwordOf(url);
  // An idle connection dropped by the server (restart, failover) is an event, not a crash; the next
  // query opens a new one.
  pool.on('error', (err) => log.warn({ err: scrubError(err, password) }, 'PostgreSQL connection lost; reconnecting on next use'));
  try {
    await migratePostgres(pool);
  } catch (err) {
    await pool.end().catch(() => undefined);
    if (err instanceof AgentError) throw err;
    const cause = scrubError(err, password);
    throw new AgentError(
      ErrorCodes.STORE_UNWRITABLE,
      `cannot open the PostgreSQL push store ${redactUrl(url)} (store.postgres.url): ${cause.message}`,
      'store.postgres.url',
      { cause },
    );
  }
  const store = new PgPushStore({ pool, owner: config.cluster.instanceId, leaseMs: config.cluster.leaseMs });
  const stats = new PgStoreStats(pool);
  let lastProbeOk = true;
  await stats.refresh().catch(() => undefined);
  log.info({ url: redactUrl(url), instanceId: config.cluster.instanceId }, 'push store: PostgreSQL');
  return {
    kind: 'postgres',
    port: store,
    outbox: pgOutboxPort(store),
    sqlite: undefined,
    postgres: { store, pool, stats },
    stats,
    isOpen: () => lastProbeOk,
    async refresh() {
      try {
        await store.probeWrite();
        lastProbeOk = true;
      } catch (err) {
        lastProbeOk = false;
        throw err;
      }
      await stats.refresh();
    },
    async prune(olderThanMs) {
      try {
        const n = await prunePg(pool, olderThanMs);
        if (n > 0) log.info({ pruned: n }, 'pruned terminal pushes past the retention');
      } catch (err) {
        log.warn({ err: scrubError(err, password) }, 'prune failed; retried at the next period');
      }
    },
    async close() {
      await pool.end();
    },
  };
}

function passwordOf(url: string): string[] {
  try {
    const p = decodeURIComponent(new URL(url).password);
    return p === '' ? [] : [p];
  } catch {
    return [];
  }
}

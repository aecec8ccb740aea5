/**
 * The capability table's store the config selects (`capabilityTable.kind`):
 *
 * - `memory` (default): the table's own in-process store; nothing to open or close.
 * - `redis`: {@link RedisCapabilityStore} (a near cache of `maxUsers`, written behind to Redis), and the
 *   Redis connection the cluster's watch leases share. The client has no offline queue and gives up a
 *   command after one retry, so while Redis is away memory stays bounded and every call fails fast: the
 *   store then decides on what this agent holds (counted in `spa_internal_errors_total`), and the
 *   client reconnects by itself. The agent starts even when Redis is down (a warning): pushes are decided
 *   on local evidence and the profile's "unknown" rules until it answers.
 */
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { CapabilityStore } from '../capabilities/capability-store.js';
import { RedisCapabilityStore } from '../capabilities/redis-capability-store.js';
import type { AgentConfig } from '../config/config-schema.js';
import { countInternalError } from '../lib/internal-errors.js';
import { redactUrl, scrubError } from '../lib/redact-url.js';

/** How long the start waits for Redis before going on without it. */
const REDIS_READY_WAIT_MS = 3000;

export interface OpenedCapabilityStore {
  /** The store for the table; undefined: the table's default in-process one. */
  readonly store: CapabilityStore | undefined;
  /** The shared connection (`kind: redis`), for the watch leases too. */
  readonly redis: Redis | undefined;
  /** Key prefix of everything the agents share in Redis. */
  readonly keyPrefix: string;
  /** Writes still on their way to Redis reach it (or fail and are counted); then the connection closes. */
  close(): Promise<void>;
}

export async function openCapabilityStore(config: AgentConfig, logger: Logger): Promise<OpenedCapabilityStore> {
  const { kind, redis: settings, maxUsers } = config.capabilityTable;
  if (kind !== 'redis') return { store: undefined, redis: undefined, keyPrefix: settings.keyPrefix, close: async () => undefined };
  const url = settings.url as string; // the schema requires it with kind redis
  const log = logger.child({ component: 'redis' });
  const redis = new Redis(url, {
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
    connectionName: `sip-push-agent:${config.cluster.instanceId}`.slice(0, 60),
  });
  let down = false;
  redis.on('error', (err: unknown) => {
    countInternalError('redis:connection', err);
    if (down) return;
    down = true;
    log.warn({ err: scrubError(err) }, 'Redis unreachable: deciding on local evidence until it answers');
  });
  redis.on('ready', () => {
    if (down) log.info('Redis answers again');
    down = false;
  });
  const ready = await new Promise<boolean>((resolve) => {
    if (redis.status === 'ready') return resolve(true);
    const timer = setTimeout(() => resolve(false), REDIS_READY_WAIT_MS);
    redis.once('ready', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
  if (!ready) log.warn({ url: redactUrl(url) }, 'Redis not reachable at start; starting without it (capabilityTable.redis.url)');
  const store = new RedisCapabilityStore({
    redis,
    capacity: maxUsers,
    prefix: `${settings.keyPrefix}cap:`,
    logger,
  });
  log.info({ url: redactUrl(url) }, 'capability table: Redis');
  return {
    store,
    redis,
    keyPrefix: settings.keyPrefix,
    async close() {
      await store.flush();
      redis.disconnect();
    },
  };
}

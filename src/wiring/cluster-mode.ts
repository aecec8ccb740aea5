/**
 * What cluster mode adds to an agent, built from the config:
 *
 * - with `capabilityTable.kind: redis` — "who watches whom": {@link WatchLeases} + {@link WatchOwnership}
 *   drive this agent's watchers (a lease taken → `watch`, given back → `unwatch` then release, lost →
 *   dropped at once), and {@link ClusterWatch} stands between the oracle and the watchers so a push never
 *   subscribes locally to a user another agent owns (cluster/cluster-watch.ts states the rule);
 * - with `store.kind: postgres` — the {@link WorkLeaseLoop}: renew this agent's push and outbox leases
 *   every `leaseMs / 3`, take over lapsed ones every `tickMs` (pushes → the push core's resume path,
 *   outbox items → the dispatcher reads its table again).
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { CapabilityTable } from '../capabilities/capability-table.js';
import type { WatchTrigger } from '../capabilities/evidence-ports.js';
import { ClusterWatch } from '../cluster/cluster-watch.js';
import { WatchLeases } from '../cluster/watch-leases.js';
import { WatchOwnership } from '../cluster/watch-ownership.js';
import { WorkLeaseLoop } from '../cluster/work-leases.js';
import type { AgentConfig } from '../config/config-schema.js';
import { countInternalError } from '../lib/internal-errors.js';
import type { SourceWatchers } from '../presence/source-watchers.js';
import type { PushCore } from '../push/push-core.js';
import type { OpenedPushStore } from './push-store-factory.js';

/** Takeovers per round: bounds one round's work after a large agent died (the rest come next round). */
const TAKE_OVER_BATCH = 500;

export interface ClusterWatching {
  /** The oracle's triggers: the watchers wrapped in the cluster rule. */
  readonly triggers: WatchTrigger[];
  /** Start the ownership rounds; `watchList` users are wanted (not subscribed here directly). */
  start(watchList: readonly string[]): void;
  /** Leave the cluster: unsubscribe what this agent watches, give the leases back, leave the member list. */
  stop(): Promise<void>;
  stats(): { members: number; held: number };
}

export function buildClusterWatching(parts: {
  config: AgentConfig;
  redis: Redis;
  keyPrefix: string;
  table: CapabilityTable;
  sources: SourceWatchers;
  logger: Logger;
}): ClusterWatching {
  const { config, redis, keyPrefix, table, sources, logger } = parts;
  const log = logger.child({ component: 'cluster-watch' });
  const leases = new WatchLeases({ redis, instanceId: config.cluster.instanceId, leaseMs: config.cluster.leaseMs, prefix: keyPrefix });
  const ownership = new WatchOwnership({
    leases,
    tickMs: config.cluster.tickMs,
    maxMovesPerTick: config.cluster.maxMovesPerTick,
    onAcquired: (aors) => void sources.watch(aors),
    onReleasing: (aors) => sources.unwatch(aors),
    onLost: (aors) => sources.drop(aors),
    logger,
  });
  const watch = new ClusterWatch({
    ownership,
    want: (aors) => leases.want(aors),
    refill: (aor) => table.prefetch(aor),
    onWantFailed: (err) => countInternalError('cluster:want', err),
  });
  const triggers = sources.watchers.map((w) =>
    watch.trigger({
      trigger: w,
      enabled: w.source.enabled,
      firstNotifyWaitMs: w.source.firstNotifyWaitMs,
      isFresh: (aor) => w.source.isFresh(table, aor),
    }),
  );
  return {
    triggers,
    start(watchList) {
      ownership.start();
      if (watchList.length > 0) watch.want(watchList);
    },
    async stop() {
      try {
        await ownership.stop(true);
      } catch (err) {
        // Redis away at shutdown: the leases lapse by themselves within leaseMs.
        log.warn({ err }, 'could not give the watch leases back; they lapse by themselves');
      }
    },
    stats() {
      const s = ownership.snapshot();
      return { members: s.members.length, held: s.held };
    },
  };
}

/** The lease loop for work in the shared PostgreSQL store; undefined on SQLite. */
export function buildWorkLeases(parts: {
  config: AgentConfig;
  store: OpenedPushStore;
  pushes: PushCore;
  /** The dispatcher reads its table again (after taking over outbox items). */
  rescanOutbox: () => void;
  logger: Logger;
}): WorkLeaseLoop | undefined {
  const { config, store, pushes, rescanOutbox, logger } = parts;
  const pg = store.postgres;
  if (!pg) return undefined;
  return new WorkLeaseLoop({
    renewMs: Math.max(1, Math.floor(config.cluster.leaseMs / 3)),
    tickMs: config.cluster.tickMs,
    logger,
    work: {
      renew: () => pg.store.leases.renew(),
      takeOverPushes: async () => {
        const taken = await pg.store.takeOver(TAKE_OVER_BATCH);
        if (taken.length > 0) await pushes.resumeTakenOver(taken);
        return taken.length;
      },
      takeOverOutbox: async () => {
        const taken = await pg.store.leases.takeOverOutbox(TAKE_OVER_BATCH);
        if (taken.length > 0) rescanOutbox();
        return taken.length;
      },
      eachTick: () => store.refresh(),
    },
  });
}

/**
 * What the metrics read on each scrape. Structural interfaces over the agent's parts (push service,
 * store, engine, capability table, presence watcher), so `/metrics` depends on no concrete class and
 * tests can hand in the real parts or small stand-ins.
 */
import type { CapabilityTableStats } from '../capabilities/capability-table.js';
import type { HandBackCount, OutboxOutcomeCount, PushCounters } from '../push/counters.js';
import type { SipEngineStats } from '../sip/port.js';

export interface PushCountersSource {
  readonly counters: Readonly<PushCounters>;
  readonly queueDepth: { inFlight: number; queued: number };
  /** Pushes waiting for a future deliver-after. */
  readonly scheduledCount: number;
  handBackCounts(): readonly HandBackCount[];
  /** Hand-backs and result notifications by how they ended. */
  outboxOutcomeCounts?(): readonly OutboxOutcomeCount[];
}

export interface StoreStatsSource {
  countsByState(): Readonly<Record<string, number>>;
  backlog(): number;
  readonly outbox: { stats(): { pending: number; parked: number; done: number } };
}

export interface TableStatsSource {
  stats(): Pick<CapabilityTableStats, 'size' | 'maxUsers' | 'hits' | 'misses' | 'evictions' | 'expirations' | 'deletions'>;
}

export interface PresenceStatsSource {
  stats(): { subscriptions: Readonly<Record<string, number>>; notifiesReceived: number; subscribeFailures: number };
}

export interface EngineStatsSource {
  stats(): SipEngineStats;
}

export interface CoreHealthStatsSource {
  stats(): { state: 'unknown' | 'up' | 'down'; target: string; probesOk: number; probesFailed: number };
}

/** Cluster mode: takeovers of lapsed work, lease renewals that failed, the members seen and watch leases held. */
export interface ClusterStatsSource {
  stats(): {
    pushesTakenOver: number;
    outboxTakenOver: number;
    renewFailures: number;
    members: number;
    watchLeasesHeld: number;
  };
}

export interface MetricsSources {
  pushes: PushCountersSource;
  store: StoreStatsSource;
  engine: EngineStatsSource;
  table: TableStatsSource;
  /** Absent when presence is off (e.g. `policy: always-sip` tests). */
  presence?: PresenceStatsSource;
  /** The registration-state (Event: reg) watcher, when the profile's sources include `reg`. */
  registration?: PresenceStatsSource & { gaps(): { staleNotifies: number; versionGaps: number } };
  /** The SIP core's health (core-health-monitor.ts); absent in tests without one. */
  coreHealth?: CoreHealthStatsSource;
  /** Present in cluster mode (`store.kind: postgres` and/or `capabilityTable.kind: redis`). */
  cluster?: ClusterStatsSource;
}

/**
 * Prometheus metrics on the agent's own `Registry` (never the prom-client global one, so two agents in
 * one process — tests — do not collide). Counters that already live in a source object (push counters,
 * `engine.stats()`, table and watcher stats, store counts) are read on scrape: the hot path pays
 * nothing. Only the intake latency histogram and the hand-back-by-hint counter are updated per request.
 *
 * A source that throws on a scrape (closed store, stopped watcher, a bug) costs only its own samples: the
 * scrape still answers. It is not hidden either: logged with `{ err }` when it starts failing (and when it
 * recovers), counted in `spa_internal_errors_total{where="metrics:<name>"}`, and flagged for whoever
 * reads the scrape in `spa_metrics_source_failed{metric}` (1 while its latest read failed).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { countInternalError, internalErrorCounts } from '../lib/internal-errors.js';
import { type Logger, silentLogger } from '../lib/logger.js';
import type { MetricsSources } from './metrics-sources.js';

type Labels = Record<string, string>;
type Sample = readonly [Labels, number];

/** Which API a push came in on. */
export type IntakeApi = 'pap' | 'json';

export interface AgentMetrics {
  readonly registry: Registry;
  /** Records one intake (request received → reply ready). */
  observeIntake(api: IntakeApi, outcome: string, seconds: number): void;
  /** Counts a synchronous hand-back with the bearer hint it carried. */
  /** The exposition text and its content type. */
  scrape(): Promise<{ contentType: string; body: string }>;
}

export interface MetricsOptions {
  /** Node process metrics (CPU, memory, event-loop lag); default true. */
  processMetrics?: boolean;
  /** Where a failing source is reported; default silent. */
  logger?: Logger;
}

function entries(record: Readonly<Record<string, number>>, label: string): Sample[] {
  return Object.entries(record).map(([key, value]) => [{ [label]: key }, value] as const);
}

export function createMetrics(sources: MetricsSources, options: MetricsOptions = {}): AgentMetrics {
  const registry = new Registry();
  const registers = [registry];
  const log = (options.logger ?? silentLogger()).child({ component: 'metrics' });
  /** Per sourced metric: did its latest read fail? (Only metrics that failed at least once are listed.) */
  const failing = new Map<string, boolean>();

  /** Reads a source; a failing one gives no samples this scrape and is logged, counted and flagged. */
  const safely = (name: string, read: () => Iterable<Sample>): Sample[] => {
    try {
      const samples = [...read()];
      if (failing.get(name) === true) {
        failing.set(name, false);
        log.info({ metric: name }, 'metrics source recovered');
      }
      return samples;
    } catch (err) {
      // Logged when it starts failing, counted every time: a source that stays broken does not flood the log.
      countInternalError(`metrics:${name}`, err, failing.get(name) === true ? undefined : log);
      failing.set(name, true);
      return [];
    }
  };

  /** A counter whose value is copied from a source on each scrape. */
  const sourcedCounter = (name: string, help: string, labelNames: string[], read: () => Iterable<Sample>) => {
    const counter: Counter<string> = new Counter({
      name,
      help,
      labelNames,
      registers,
      collect() {
        counter.reset();
        for (const [labels, value] of safely(name, read)) counter.inc(labels, value);
      },
    });
  };
  const sourcedGauge = (name: string, help: string, labelNames: string[], read: () => Iterable<Sample>) => {
    const gauge: Gauge<string> = new Gauge({
      name,
      help,
      labelNames,
      registers,
      collect() {
        gauge.reset();
        for (const [labels, value] of safely(name, read)) gauge.set(labels, value);
      },
    });
  };

  const { pushes, store, engine, table, presence, registration } = sources;
  sourcedCounter('spa_pushes_total', 'Pushes by outcome and reason', ['outcome', 'reason'], () => {
    const c = pushes.counters;
    return [
      [{ outcome: 'accepted', reason: 'sip-reachable' }, c.accepted],
      // handedBackSync counts every synchronous hand-back; core-down and engine-limit ones get their own reason.
      [{ outcome: 'handed-back', reason: 'not-sip-reachable' }, c.handedBackSync - c.coreDown - c.handedBackEngineLimit],
      [{ outcome: 'handed-back', reason: 'sip-core-unreachable' }, c.coreDown],
      [{ outcome: 'handed-back', reason: 'engine-limit' }, c.handedBackEngineLimit],
      [{ outcome: 'handed-back', reason: 'sip-failure' }, c.handedBackAsync - c.unconfirmedHandedBack],
      [{ outcome: 'handed-back', reason: 'sip-unconfirmed' }, c.unconfirmedHandedBack],
      [{ outcome: 'unconfirmed', reason: 'sip-unconfirmed' }, c.unconfirmed],
      [{ outcome: 'rejected', reason: 'schedule-full' }, c.scheduleFull],
      [{ outcome: 'rejected', reason: 'store-unwritable' }, c.storeUnwritable],
      [{ outcome: 'delivered', reason: 'sip-2xx' }, c.delivered],
      [{ outcome: 'expired', reason: 'deliver-before-passed' }, c.expired],
      [{ outcome: 'cancelled', reason: 'pi-cancel' }, c.cancelled],
      [{ outcome: 'rejected', reason: 'invalid-request' }, c.rejected],
      [{ outcome: 'rejected', reason: 'overloaded' }, c.overloaded],
    ];
  });
  sourcedCounter('spa_sip_messages_sent_total', 'SIP MESSAGE requests sent for pushes', [], () => [[{}, pushes.counters.messagesSent]]);
  sourcedGauge(
    'spa_push_queue',
    'Deliveries in flight, queued for a transaction slot, and scheduled for a later deliver-after',
    ['kind'],
    () => [
      [{ kind: 'in-flight' }, pushes.queueDepth.inFlight],
      [{ kind: 'queued' }, pushes.queueDepth.queued],
      [{ kind: 'scheduled' }, pushes.scheduledCount],
    ],
  );
  sourcedGauge('spa_store_pushes', 'Stored pushes by state', ['state'], () => entries(store.countsByState(), 'state'));
  sourcedGauge('spa_store_backlog', 'Non-terminal pushes in the store', [], () => [[{}, store.backlog()]]);
  sourcedGauge('spa_outbox_items', 'PPG outbox POSTs not done, by state', ['state'], () => {
    const s = store.outbox.stats();
    return [
      [{ state: 'pending' }, s.pending],
      [{ state: 'parked' }, s.parked],
    ];
  });

  sourcedCounter('spa_sip_requests_sent_total', 'SIP requests sent, by method', ['method'], () =>
    entries(engine.stats().requestsSent, 'method'),
  );
  sourcedCounter('spa_sip_responses_received_total', 'SIP final responses received, by status', ['status'], () =>
    entries(engine.stats().responsesReceived, 'status'),
  );
  sourcedCounter('spa_sip_requests_received_total', 'SIP requests received, by method', ['method'], () =>
    entries(engine.stats().requestsReceived, 'method'),
  );
  sourcedCounter('spa_sip_refused_total', 'SIP input refused by the trust check or a limit (sip.limits), by reason', ['reason'], () =>
    entries(engine.stats().refused ?? {}, 'reason'),
  );
  sourcedCounter('spa_sip_transaction_timeouts_total', 'Client transactions that timed out (RFC 3261 Timer F)', [], () => [
    [{}, engine.stats().transactionTimeouts],
  ]);
  sourcedCounter('spa_sip_retransmissions_total', 'UDP retransmissions (RFC 3261 §17.1.2.2 Timer E)', [], () => [
    [{}, engine.stats().retransmissions],
  ]);

  sourcedGauge('spa_capability_table_size', 'Users in the capability table', [], () => [[{}, table.stats().size]]);
  sourcedGauge('spa_capability_table_max_users', 'Capability table capacity', [], () => [[{}, table.stats().maxUsers]]);
  sourcedCounter('spa_capability_table_lookups_total', 'Capability table lookups by result', ['result'], () => {
    const s = table.stats();
    return [
      [{ result: 'hit' }, s.hits],
      [{ result: 'miss' }, s.misses],
    ];
  });
  sourcedCounter('spa_capability_table_evictions_total', 'Entries that left the table, by reason', ['reason'], () => {
    const s = table.stats();
    return [
      [{ reason: 'capacity' }, s.evictions],
      [{ reason: 'expired' }, s.expirations],
      [{ reason: 'deleted' }, s.deletions],
    ];
  });

  if (presence) {
    sourcedGauge('spa_presence_subscriptions', 'Watched users by subscription state', ['state'], () =>
      entries(presence.stats().subscriptions, 'state'),
    );
    sourcedCounter('spa_presence_notifies_total', 'NOTIFYs received (RFC 6665 §4.1.3)', [], () => [
      [{}, presence.stats().notifiesReceived],
    ]);
    sourcedCounter('spa_presence_subscribe_failures_total', 'SUBSCRIBE attempts that failed', [], () => [
      [{}, presence.stats().subscribeFailures],
    ]);
  }

  if (registration) {
    sourcedGauge(
      'spa_reg_subscriptions',
      'Users watched for registration state (Event: reg, RFC 3680) by subscription state',
      ['state'],
      () => entries(registration.stats().subscriptions, 'state'),
    );
    sourcedCounter('spa_reg_notifies_total', 'reg NOTIFYs received (RFC 3680)', [], () => [[{}, registration.stats().notifiesReceived]]);
    sourcedCounter('spa_reg_subscribe_failures_total', 'reg SUBSCRIBE attempts that failed', [], () => [
      [{}, registration.stats().subscribeFailures],
    ]);
    sourcedCounter(
      'spa_reg_version_gaps_total',
      'reg NOTIFYs whose version showed lost notifications (refresh for the full state, RFC 3680 §5.2)',
      [],
      () => [[{}, registration.gaps().versionGaps]],
    );
    sourcedCounter('spa_reg_stale_notifies_total', 'reg NOTIFYs dropped as older than the state held (version or CSeq)', [], () => [
      [{}, registration.gaps().staleNotifies],
    ]);
  }

  const coreHealth = sources.coreHealth;
  if (coreHealth) {
    sourcedGauge(
      'spa_sip_core_up',
      'SIP core (outbound proxy) health from OPTIONS probes and the engine connection: 1 up, 0 down or not yet known',
      ['core', 'state'],
      () => {
        const s = coreHealth.stats();
        return [[{ core: s.target, state: s.state }, s.state === 'up' ? 1 : 0]];
      },
    );
    sourcedCounter('spa_sip_core_probes_total', 'OPTIONS probes to the SIP core by result', ['result'], () => {
      const s = coreHealth.stats();
      return [
        [{ result: 'ok' }, s.probesOk],
        [{ result: 'failed' }, s.probesFailed],
      ];
    });
  }

  const cluster = sources.cluster;
  if (cluster) {
    sourcedCounter('spa_cluster_takeovers_total', 'Work taken over from agents whose lease lapsed, by kind', ['kind'], () => {
      const s = cluster.stats();
      return [
        [{ kind: 'push' }, s.pushesTakenOver],
        [{ kind: 'outbox' }, s.outboxTakenOver],
      ];
    });
    sourcedCounter('spa_cluster_lease_renew_failures_total', 'Rounds in which this agent could not renew its work leases', [], () => [
      [{}, cluster.stats().renewFailures],
    ]);
    sourcedGauge('spa_cluster_members', 'Live agents seen in the cluster at the last watch-ownership round', [], () => [
      [{}, cluster.stats().members],
    ]);
    sourcedGauge('spa_cluster_watch_leases', 'Users whose watch lease this agent holds (it keeps their dialogs)', [], () => [
      [{}, cluster.stats().watchLeasesHeld],
    ]);
  }

  sourcedCounter(
    'spa_handbacks_total',
    'Pushes handed back to the PPG by bearer hint; mode sync = PAP 3010 at intake, async = after a SIP failure',
    ['hint', 'mode'],
    () => sources.pushes.handBackCounts().map(({ hint, mode, count }): Sample => [{ hint, mode }, count]),
  );
  sourcedCounter(
    'spa_outbox_outcomes_total',
    'Hand-backs and result notifications by how they ended: acknowledged (PAP 1000/1001), refused by the PPG/PI, gave-up (retry limit or a request that cannot be built), not-possible (no hand-back the PPG could route, e.g. no MSISDN for SMS)',
    ['kind', 'outcome'],
    () => (sources.pushes.outboxOutcomeCounts?.() ?? []).map(({ kind, outcome, count }): Sample => [{ kind, outcome }, count]),
  );
  const intake = new Histogram({
    name: 'spa_intake_duration_seconds',
    help: 'Push intake latency: request received → reply ready (PAP and JSON API)',
    labelNames: ['api', 'outcome'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers,
  });
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'spa_' });

  // Read last, so they include what the sourced metrics above counted in this same scrape.
  sourcedCounter(
    'spa_internal_errors_total',
    'Failures the agent caught and survived, by where (each also logged with its error): a rising count is a fault to look into',
    ['where'],
    () => internalErrorCounts().map(({ where, count }): Sample => [{ where }, count]),
  );
  sourcedGauge(
    'spa_metrics_source_failed',
    'Metrics whose source failed on the latest scrape (1; samples missing) or recovered since (0); see spa_internal_errors_total',
    ['metric'],
    () => [...failing].map(([metric, failed]): Sample => [{ metric }, failed ? 1 : 0]),
  );

  return {
    registry,
    observeIntake: (api, outcome, seconds) => intake.observe({ api, outcome }, seconds),
    async scrape() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}

/**
 * The composition root: builds every part from the validated config and owns the start/stop order.
 *
 * Start: push store (SQLite: lock + file; PostgreSQL: pool + migrations) → capability store (memory or
 * Redis) → SIP engine (binds its ports) → capability table, watchers (in cluster mode behind the
 * cluster's watch rule), core health, push core, outbox → HTTP intake listening → only then resume the
 * stored pushes, start the outbox, the watch list and the cluster loops. Everything that can fail on the
 * environment (another agent on the SQLite file, a port in use, PostgreSQL unreachable) fails before any
 * stored push is touched, so a failed start changes nothing. The factories live in src/wiring/.
 * Stop (SIGTERM/SIGINT): intake refuses (4001) → lease takeovers stop → in-flight SIP drained within a
 * bound → watch leases given back, presence unsubscribed → outbox stopped → work leases released →
 * engine stopped → capability writes flushed → store closed (and its lock released).
 */
import type { Logger } from 'pino';
import { CapabilityOracle } from './capabilities/capability-oracle.js';
import { CapabilityTable } from './capabilities/capability-table.js';
import type { AgentConfig } from './config/config-schema.js';
import { CoreHealthMonitor } from './core-health/core-health-monitor.js';
import { createHttpServer, type HttpServer } from './intake/http-server.js';
import { intakeGuardFromConfig, notifyAllowListFromConfig, tlsFromConfig } from './intake/guard/intake-security.js';
import { loggerForModule } from './lib/logger.js';
import { createMetrics } from './ops/metrics.js';
import { readinessChecks } from './intake/admin/readiness.js';
import { PresenceWatcher } from './presence/presence-watcher.js';
import { SourceWatchers } from './presence/source-watchers.js';
import { loadProfile } from './profiles/load-profile.js';
import type { SipProfile } from './profiles/schema.js';
import { OutboxDispatcher } from './push/outbox/outbox-dispatcher.js';
import { PushCore } from './push/push-core.js';
import { PapEndpoint } from './intake/pap/pap-endpoint.js';
import type { PushStore } from './push/store/sqlite/sqlite-push-store.js';
import type { PushStorePort } from './push/store/push-store-port.js';
import { regSource } from './registration/reg-source.js';
import type { SipEngine } from './sip/port.js';
import { openCapabilityStore, type OpenedCapabilityStore } from './wiring/capability-store-factory.js';
import { buildClusterWatching, buildWorkLeases, type ClusterWatching } from './wiring/cluster-mode.js';
import { bindError, listenIndex, portInUse } from './wiring/listen-errors.js';
import { openPushStore, type OpenedPushStore } from './wiring/push-store-factory.js';
import { ppgHttpClient } from './wiring/ppg-client.js';
import { buildEngine } from './wiring/sip-engine.js';

export interface AgentOverrides {
  /** A pre-built engine (the contract tests, the drachtio engine). */
  engine?: SipEngine;
  profile?: SipProfile;
}

export interface RunningAgent {
  readonly config: AgentConfig;
  readonly profile: SipProfile;
  readonly engine: SipEngine;
  /** The push store the flow uses (`store.kind` sqlite or postgres). */
  readonly pushStore: PushStorePort;
  /** The SQLite store itself (synchronous reads for tests and tools); throws on `store.kind: postgres`. */
  readonly store: PushStore;
  readonly table: CapabilityTable;
  /** The presence watcher (always built; it never subscribes when presence is not a source). */
  readonly watcher: PresenceWatcher;
  /** The registration-state watcher, when the profile's sources include `reg`. */
  readonly regWatcher?: PresenceWatcher;
  /** Every source's watcher (watch list, admin refresh, stop). */
  readonly sources: SourceWatchers;
  /** The push path's question: the table, asking the watchers for first evidence when it knows nothing. */
  readonly oracle: CapabilityOracle;
  readonly pushes: PushCore;
  readonly coreHealth: CoreHealthMonitor;
  readonly http: { host: string; port: number };
  /** The `/metrics` listener when config `metrics.port` gives it one. */
  readonly metricsHttp: { host: string; port: number } | undefined;
  /** The routes the HTTP listener serves (method, fastify path), for checks against docs/openapi.yaml. */
  httpRoutes(): { method: string; url: string }[];
  stop(options?: { drainMs?: number }): Promise<void>;
}

export async function startAgent(config: AgentConfig, logger: Logger, overrides: AgentOverrides = {}): Promise<RunningAgent> {
  const profile = overrides.profile ?? loadProfile(config.profile, config.profileOverrides);
  // Reads the PPG's CA file: fails (naming the field) before anything is locked or opened.
  const httpClient = ppgHttpClient(config);
  let opened: OpenedPushStore;
  let capabilities: OpenedCapabilityStore;
  try {
    opened = await openPushStore(config, logger);
  } catch (err) {
    httpClient.close();
    throw err;
  }
  try {
    capabilities = await openCapabilityStore(config, logger);
  } catch (err) {
    httpClient.close();
    await opened.close();
    throw err;
  }
  const sqlite = opened.sqlite;
  const moduleLog = (module: string) => loggerForModule(logger, module, config.log.modules);
  const engine = overrides.engine ?? buildEngine(config, profile, moduleLog('sip'));
  let http: HttpServer | undefined;
  let dispatcher: OutboxDispatcher | undefined;
  let watcher: SourceWatchers | undefined;
  let coreHealth: CoreHealthMonitor | undefined;
  let cluster: ClusterWatching | undefined;
  try {
    try {
      await engine.start();
    } catch (err) {
      const index = listenIndex(config, err);
      throw portInUse(err, `sip.listen[${index}].port`, `SPA__sip__listen__${index}__port`, 'a sip.listen address');
    }
    const table = new CapabilityTable({ maxUsers: config.capabilityTable.maxUsers, profile, store: capabilities.store });
    const presenceWatcher = new PresenceWatcher({
      engine,
      table,
      profile,
      logger: moduleLog('presence'),
      maxConcurrentSubscribes: config.presence.maxConcurrentSubscribes,
    });
    const registration = profile.sources.includes('reg') ? regSource(profile) : undefined;
    const regWatcher = registration
      ? new PresenceWatcher({
          engine,
          table,
          profile,
          logger: moduleLog('presence'),
          maxConcurrentSubscribes: config.presence.maxConcurrentSubscribes,
          source: registration,
        })
      : undefined;
    const sources = new SourceWatchers(regWatcher ? [presenceWatcher, regWatcher] : [presenceWatcher]);
    watcher = sources;
    // Cluster mode: one subscription per user across the agents (wiring/cluster-mode.ts).
    if (capabilities.redis) {
      const { redis, keyPrefix } = capabilities;
      cluster = buildClusterWatching({ config, redis, keyPrefix, table, sources, logger: moduleLog('presence') });
    }
    // The push path's question; evicting a user from the table unsubscribes them (RFC 6665 §4.1.2.3 Expires: 0).
    const oracle = new CapabilityOracle(table, cluster?.triggers ?? sources.watchers);
    const notifyAllowList = notifyAllowListFromConfig(config);
    const health = new CoreHealthMonitor({
      engine,
      target: profile.outboundProxy,
      from: profile.identity.uri,
      settings: config.sip.coreHealth,
      logger: moduleLog('sip'),
    });
    coreHealth = health;
    // The push flow and the outbox dispatcher (below) see the store only through their ports.
    const pushes = new PushCore({
      store: opened.port,
      engine,
      oracle,
      profile,
      logger: moduleLog('push'),
      handBackUrl: config.ppg.handBackUrl,
      ppg: {
        papVersion: config.ppg.papVersion,
        sendsResultNotifications: config.ppg.sendsResultNotifications,
        numberBearers: config.ppg.numberBearers,
        msisdns: config.ppg.msisdns,
        ...(config.ppg.network !== undefined ? { network: config.ppg.network } : {}),
        ...(profile.addressing.defaultCountryCode !== undefined ? { defaultCountryCode: profile.addressing.defaultCountryCode } : {}),
      },
      policy: config.policy,
      maxInFlight: config.limits.maxInFlight,
      maxQueued: config.limits.maxQueued,
      maxScheduled: config.limits.maxScheduled,
      senderName: 'sip-push-agent',
      outcomeLogLevel: config.log.outcomes,
      notifyAllowed: (pi, url) => notifyAllowList.allowed(pi, url),
      // Send a queued hand-back / result notification now, not at the dispatcher's next poll (≤ 1 s).
      onOutboxQueued: () => dispatcher?.kick(),
      coreHealth: health,
    });
    const pap = new PapEndpoint(pushes, { senderName: 'sip-push-agent' });
    dispatcher = new OutboxDispatcher({
      outbox: opened.outbox,
      logger: moduleLog('outbox'),
      backoff: { baseMs: config.ppg.backoff.baseMs, maxMs: config.ppg.backoff.maxMs, jitter: 0.2 },
      concurrency: { 'hand-back': config.ppg.concurrency, 'result-notification': config.ppg.notifyConcurrency },
      requestTimeoutMs: config.ppg.requestTimeoutMs,
      giveUp: config.ppg.giveUp,
      client: httpClient,
      // Decided inside the commit that ends the item: the push's move commits with the item's ending.
      react: (item, settlement, record) => pushes.onOutboxSettled(item, settlement, record),
    });
    const outbox = dispatcher;
    const workLeases = buildWorkLeases({ config, store: opened, pushes, rescanOutbox: () => outbox.rescan(), logger: moduleLog('push') });
    http = createHttpServer({
      host: config.http.host,
      port: config.http.port,
      papPath: config.http.papPath,
      bodyLimitBytes: config.http.bodyLimitBytes,
      requestTimeoutMs: config.http.requestTimeoutMs,
      overLimitDrain: config.http.overLimitDrain,
      logger: moduleLog('http'),
      handlePap: (contentType, body, caller) => pap.handlePap(contentType, body, caller),
      readiness: readinessChecks({ engine, store: opened, pushes, coreHealth: health }),
      metrics: createMetrics(
        {
          pushes,
          store: opened.stats,
          engine,
          table,
          presence: presenceWatcher,
          coreHealth: health,
          ...(regWatcher && registration && { registration: { stats: () => regWatcher.stats(), gaps: () => registration.stats } }),
          ...((workLeases || cluster) && { cluster: { stats: () => clusterStats(workLeases?.stats(), cluster?.stats()) } }),
        },
        { logger },
      ),
      metricsServing: {
        ...(config.metrics.port !== undefined
          ? { listen: { host: config.metrics.host ?? config.http.host, port: config.metrics.port } }
          : {}),
        ...(config.metrics.requireAdminToken ? { token: config.admin.token } : {}),
      },
      admin: {
        token: config.admin.token,
        table,
        presence: { stats: () => presenceWatcher.stats(), refresh: (aor) => sources.refresh(aor) },
        pushes: { get: (id) => pushes.recordFor(id, { pi: 'admin', admin: true }), history: (id) => pushes.history(id) },
      },
      jsonPushes: {
        submit: (push, type, body, source, caller) => pushes.submit(push, type, body, source, caller),
        get: (id, caller) => pushes.recordFor(id, caller),
      },
      intakeGuard: intakeGuardFromConfig(config, moduleLog('http')),
      tls: tlsFromConfig(config),
    });
    let address: { host: string; port: number };
    try {
      address = await http.listen();
    } catch (err) {
      const metricsPort = config.metrics.port !== undefined && bindError(err)?.port === config.metrics.port;
      throw metricsPort
        ? portInUse(err, 'metrics.port', 'SPA__metrics__port', `port ${config.metrics.port}`)
        : portInUse(err, 'http.port', 'SPA__http__port', `${config.http.host}:${config.http.port}`);
    }
    health.start();
    // Only now, with every port bound, may stored pushes move (a failed start must change nothing).
    await pushes.resume();
    dispatcher.start();
    workLeases?.start();
    const watchList = config.presence.watchList ? presenceWatcher.loadWatchList(config.presence.watchList) : [];
    // Alone: subscribe the watch list. In a cluster: want it; each agent subscribes its share.
    if (cluster) cluster.start(watchList);
    else if (watchList.length > 0) void sources.watch(watchList);
    const prune = () =>
      opened.prune(config.store.retentionHours * 3600_000).catch((err: unknown) => logger.warn({ err }, 'push store prune failed'));
    const pruneTimer = setInterval(prune, 3600_000);
    pruneTimer.unref();
    const httpServer = http;
    const clusterWatch = cluster;
    logger.info({ engine: engine.name, sip: engine.localAddresses(), profile: profile.name }, 'sip-push-agent started');

    let stopping: Promise<void> | undefined;
    return {
      config,
      profile,
      engine,
      pushStore: opened.port,
      get store(): PushStore {
        if (!sqlite) throw new Error('RunningAgent.store is the SQLite store; this agent runs store.kind postgres (use pushStore)');
        return sqlite;
      },
      table,
      watcher: presenceWatcher,
      ...(regWatcher && { regWatcher }),
      sources,
      oracle,
      pushes,
      coreHealth: health,
      http: address,
      metricsHttp: httpServer.metricsAddress(),
      httpRoutes: () => httpServer.routes(),
      stop(options = {}) {
        stopping ??= (async () => {
          pushes.stopAccepting();
          clearInterval(pruneTimer);
          await workLeases?.stop();
          await pushes.drain(options.drainMs ?? 5000);
          await httpServer.close();
          await clusterWatch?.stop();
          await sources.stop(2000);
          health.stop();
          await outbox.stop();
          // What is still open here (scheduled pushes, unsent POSTs) the other agents take over at once.
          await opened.postgres?.store.leases.releaseAll().catch((err: unknown) => logger.warn({ err }, 'could not release work leases'));
          httpClient.close();
          await engine.stop();
          await capabilities.close();
          await opened.close();
          logger.info('sip-push-agent stopped');
        })();
        return stopping;
      },
    };
  } catch (err) {
    await http?.close().catch(() => undefined);
    await dispatcher?.stop().catch(() => undefined);
    httpClient.close();
    await cluster?.stop();
    await watcher?.stop(500).catch(() => undefined);
    coreHealth?.stop();
    await engine.stop().catch(() => undefined);
    await capabilities.close().catch(() => undefined);
    await opened.close().catch(() => undefined);
    throw err;
  }
}

/** The cluster metrics from the two loops (either may be off: SQLite with Redis, PostgreSQL alone). */
function clusterStats(
  work: { pushesTakenOver: number; outboxTakenOver: number; renewFailures: number } | undefined,
  watch: { members: number; held: number } | undefined,
) {
  return {
    pushesTakenOver: work?.pushesTakenOver ?? 0,
    outboxTakenOver: work?.outboxTakenOver ?? 0,
    renewFailures: work?.renewFailures ?? 0,
    members: watch?.members ?? 0,
    watchLeasesHeld: watch?.held ?? 0,
  };
}

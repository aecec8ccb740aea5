/**
 * The composition root: builds every part from the validated config and owns the start/stop order.
 *
 * Start: store lock → store → SIP engine (binds its ports) → capability table, presence watcher, core
 * health, push service, outbox → HTTP intake listening → only then resume the stored pushes, start the
 * outbox and the watch list. Everything that can fail on the environment (another agent on the store, a
 * port in use) fails before any stored push is touched, so a failed start changes nothing.
 * Stop (SIGTERM/SIGINT): intake refuses (4001) → in-flight SIP drained within a bound → presence
 * unsubscribed → outbox stopped → engine stopped → store closed → lock released.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { CapabilityOracle } from './capabilities/capability-oracle.js';
import { CapabilityTable } from './capabilities/capability-table.js';
import type { AgentConfig } from './config/config-schema.js';
import { CoreHealthMonitor } from './core-health/core-health-monitor.js';
import { AgentError, ErrorCodes } from './errors.js';
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
import { sqliteOutboxPort } from './push/store/sqlite/sqlite-outbox-port.js';
import { sqlitePushStorePort } from './push/store/sqlite/sqlite-push-store-port.js';
import { PapEndpoint } from './intake/pap/pap-endpoint.js';
import { PushStore } from './push/store/sqlite/sqlite-push-store.js';
import { regSource } from './registration/reg-source.js';
import { acquireStoreLock, type StoreLock } from './push/store/sqlite/store-lock.js';
import type { SipEngine } from './sip/port.js';
import { bindError, listenIndex, portInUse } from './wiring/listen-errors.js';
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
  // Cluster mode is configurable before it is assembled here: refuse it clearly rather than run on SQLite.
  if (config.store.kind !== 'sqlite' || config.capabilityTable.kind !== 'memory') {
    const field = config.store.kind !== 'sqlite' ? 'store.kind' : 'capabilityTable.kind';
    throw new AgentError(ErrorCodes.CONFIG_INVALID, `${field}: cluster mode is not assembled by this build yet`, field);
  }
  // Reads the PPG's CA file: fails (naming the field) before anything is locked or opened.
  const httpClient = ppgHttpClient(config);
  if (config.store.path !== ':memory:') mkdirSync(dirname(config.store.path), { recursive: true });
  let lock: StoreLock | undefined;
  let store: PushStore;
  try {
    lock = acquireStoreLock(config.store.path);
    store = PushStore.open(config.store.path, { synchronous: config.store.synchronous });
  } catch (err) {
    lock?.release();
    httpClient.close();
    throw err;
  }
  const storeLock = lock;
  const moduleLog = (module: string) => loggerForModule(logger, module, config.log.modules);
  const engine = overrides.engine ?? buildEngine(config, profile, moduleLog('sip'));
  let http: HttpServer | undefined;
  let dispatcher: OutboxDispatcher | undefined;
  let watcher: SourceWatchers | undefined;
  let coreHealth: CoreHealthMonitor | undefined;
  try {
    try {
      await engine.start();
    } catch (err) {
      const index = listenIndex(config, err);
      throw portInUse(err, `sip.listen[${index}].port`, `SPA__sip__listen__${index}__port`, 'a sip.listen address');
    }
    const table = new CapabilityTable({ maxUsers: config.capabilityTable.maxUsers, profile });
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
    // The push path's question; evicting a user from the table unsubscribes them (RFC 6665 §4.1.2.3 Expires: 0).
    const oracle = new CapabilityOracle(table, sources.watchers);
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
    const storePort = sqlitePushStorePort(store);
    const pushes = new PushCore({
      store: storePort,
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
      outbox: sqliteOutboxPort(store),
      logger: moduleLog('outbox'),
      backoff: { baseMs: config.ppg.backoff.baseMs, maxMs: config.ppg.backoff.maxMs, jitter: 0.2 },
      concurrency: { 'hand-back': config.ppg.concurrency, 'result-notification': config.ppg.notifyConcurrency },
      requestTimeoutMs: config.ppg.requestTimeoutMs,
      giveUp: config.ppg.giveUp,
      client: httpClient,
      // Decided inside the commit that ends the item: the push's move commits with the item's ending.
      react: (item, settlement, record) => pushes.onOutboxSettled(item, settlement, record),
    });
    http = createHttpServer({
      host: config.http.host,
      port: config.http.port,
      papPath: config.http.papPath,
      bodyLimitBytes: config.http.bodyLimitBytes,
      requestTimeoutMs: config.http.requestTimeoutMs,
      overLimitDrain: config.http.overLimitDrain,
      logger: moduleLog('http'),
      handlePap: (contentType, body, caller) => pap.handlePap(contentType, body, caller),
      readiness: readinessChecks({ engine, store, pushes, coreHealth: health }),
      metrics: createMetrics(
        {
          pushes,
          store,
          engine,
          table,
          presence: presenceWatcher,
          coreHealth: health,
          ...(regWatcher && registration && { registration: { stats: () => regWatcher.stats(), gaps: () => registration.stats } }),
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
    if (config.presence.watchList) {
      void sources.watch(presenceWatcher.loadWatchList(config.presence.watchList));
    }
    const pruneTimer = setInterval(() => store.prune(config.store.retentionHours * 3600_000), 3600_000);
    pruneTimer.unref();
    const httpServer = http;
    const outbox = dispatcher;
    logger.info({ engine: engine.name, sip: engine.localAddresses(), profile: profile.name }, 'sip-push-agent started');

    let stopping: Promise<void> | undefined;
    return {
      config,
      profile,
      engine,
      store,
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
          await pushes.drain(options.drainMs ?? 5000);
          await httpServer.close();
          await sources.stop(2000);
          health.stop();
          await outbox.stop();
          httpClient.close();
          await engine.stop();
          store.close();
          storeLock.release();
          logger.info('sip-push-agent stopped');
        })();
        return stopping;
      },
    };
  } catch (err) {
    await http?.close().catch(() => undefined);
    await dispatcher?.stop().catch(() => undefined);
    httpClient.close();
    await watcher?.stop(500).catch(() => undefined);
    coreHealth?.stop();
    await engine.stop().catch(() => undefined);
    store.close();
    storeLock.release();
    throw err;
  }
}

/**
 * An ops HTTP server over real parts, for the ops-*.test.ts files: fastify on 127.0.0.1 port 0, a real
 * PushStore on a temp file, the real embedded engine on 127.0.0.2 port 0, a real capability table and
 * presence watcher. The only stand-in is the reachability oracle (pure push-path logic): unreachable
 * for everyone except the AORs listed as reachable. The profile's outbound proxy is a closed loopback
 * port, so whatever SIP goes out (a forced presence refresh) reaches no peer.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { CapabilityTable } from '../../src/capabilities/capability-table.js';
import { createHttpServer, type HttpServer } from '../../src/intake/http-server.js';
import { silentLogger } from '../../src/lib/logger.js';
import { createMetrics } from '../../src/ops/metrics.js';
import { readinessChecks } from '../../src/intake/admin/readiness.js';
import { PresenceWatcher } from '../../src/presence/presence-watcher.js';
import { loadProfile } from '../../src/profiles/load-profile.js';
import type { ReachabilityOracle, ReachabilityVerdict } from '../../src/capabilities/reachability-oracle.js';
import { PapEndpoint } from '../../src/intake/pap/pap-endpoint.js';
import { PushCore } from '../../src/push/push-core.js';
import { sqlitePushStorePort } from '../../src/push/store/sqlite/sqlite-push-store-port.js';
import { PushStore } from '../../src/push/store/sqlite/sqlite-push-store.js';
import { createEmbeddedEngine } from '../../src/sip/embedded/embedded-engine.js';
import type { SipEngine } from '../../src/sip/port.js';
import { freePort } from '../support/ports.js';
import { makeTempDir } from '../support/repo-paths.js';

export interface OpsServer {
  url: string;
  store: PushStore;
  engine: SipEngine;
  table: CapabilityTable;
  watcher: PresenceWatcher;
  pushes: PushCore;
  stop(): Promise<void>;
}

/** Says unreachable (hint SMS) unless the AOR is in `reachable`. */
export function stubOracle(reachable: ReadonlySet<string>): ReachabilityOracle {
  return {
    async decide(aor: string): Promise<ReachabilityVerdict> {
      return reachable.has(aor)
        ? { reachability: 'reachable', acceptedApps: 'any', bearerHint: 'SIP', reason: 'stub: reachable' }
        : { reachability: 'unreachable', acceptedApps: 'any', bearerHint: 'SMS', reason: 'stub: presence closed' };
    },
    recordDelivery() {},
  };
}

export async function startOpsServer(options: { adminToken?: string; reachable?: string[] } = {}): Promise<OpsServer> {
  const dir = makeTempDir('ops');
  const profile = {
    ...loadProfile('kamailio-lab'),
    outboundProxy: { host: '127.0.0.1', port: await freePort(), transport: 'udp' as const },
  };
  const logger = silentLogger();
  const store = PushStore.open(join(dir, 'pushes.sqlite'));
  const engine = createEmbeddedEngine({
    listen: [{ host: '127.0.0.2', port: 0, transport: 'udp' }],
    outboundProxy: profile.outboundProxy,
    timers: { t1Ms: 50 },
    logger,
  });
  await engine.start();
  const table = new CapabilityTable({ maxUsers: 100, profile });
  const watcher = new PresenceWatcher({ engine, table, profile, logger, maxConcurrentSubscribes: 4 });
  const pushes = new PushCore({
    store: sqlitePushStorePort(store),
    engine,
    oracle: stubOracle(new Set(options.reachable ?? [])),
    profile,
    logger,
    handBackUrl: 'http://127.0.0.1:9/pap',
    policy: 'presence-aware',
    maxInFlight: 10,
    maxQueued: 10,
  });
  const pap = new PapEndpoint(pushes);
  const http: HttpServer = createHttpServer({
    host: '127.0.0.1',
    port: 0,
    papPath: '/pap',
    bodyLimitBytes: 64 * 1024,
    requestTimeoutMs: 5000,
    logger,
    handlePap: (type, body) => pap.handlePap(type, body),
    readiness: readinessChecks({ engine, store, pushes }),
    metrics: createMetrics({ pushes, store, engine, table, presence: watcher }, { processMetrics: false }),
    admin: {
      token: options.adminToken,
      table,
      presence: watcher,
      pushes: { get: (id) => pushes.recordFor(id, { pi: 'admin', admin: true }), history: (id) => pushes.history(id) },
    },
    jsonPushes: { submit: (push, type, body, source) => pushes.submit(push, type, body, source), get: async (id) => store.get(id) },
  });
  const { port } = await http.listen();
  return {
    url: `http://127.0.0.1:${port}`,
    store,
    engine,
    table,
    watcher,
    pushes,
    async stop() {
      await http.close().catch(() => undefined);
      await pushes.drain(500);
      await watcher.stop(500).catch(() => undefined);
      await engine.stop().catch(() => undefined);
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A PAP push-message for one address (PAP 2.0 §9.2), multipart/related with a text/plain entity. */
export function papPush(pushId: string, address: string): { contentType: string; body: Buffer } {
  const boundary = 'ops-test-boundary';
  const control =
    '<?xml version="1.0"?>\n<!DOCTYPE pap PUBLIC "-//WAPFORUM//DTD PAP 2.0//EN" "http://www.wapforum.org/DTD/pap_2.0.dtd">\n' +
    `<pap><push-message push-id="${pushId}"><address address-value="${address}"/></push-message></pap>`;
  const body =
    `--${boundary}\r\nContent-Type: application/xml\r\n\r\n${control}\r\n` +
    `--${boundary}\r\nContent-Type: text/plain\r\nX-Wap-Application-Id: x-wap-application:wml.ua\r\n\r\nhello\r\n--${boundary}--\r\n`;
  return { contentType: `multipart/related; boundary=${boundary}; type="application/xml"`, body: Buffer.from(body) };
}

/** A JSON answer of the ops routes, loosely typed for assertions (vitest checks the shape). */
// biome-ignore lint/suspicious/noExplicitAny: a test-only reader of any route's JSON; the assertions do the typing
export type JsonAnswer = Record<string, any>;

export async function readJson(response: Response): Promise<JsonAnswer> {
  return (await response.json()) as JsonAnswer;
}

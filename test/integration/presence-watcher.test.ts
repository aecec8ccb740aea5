/**
 * The presence watcher against the project's real Kamailio (presence server) through the embedded engine:
 * SUBSCRIBE/NOTIFY on loopback, PUBLISHes from SIPp, the capability table and policy deciding.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CapabilityOracle } from '../../src/capabilities/capability-oracle.js';
import { CapabilityTable } from '../../src/capabilities/capability-table.js';
import { silentLogger } from '../../src/lib/logger.js';
import { PresenceWatcher } from '../../src/presence/presence-watcher.js';
import { loadProfile, validateProfile } from '../../src/profiles/load-profile.js';
import type { SipProfile } from '../../src/profiles/schema.js';
import { createEmbeddedEngine } from '../../src/sip/embedded/embedded-engine.js';
import type { SipEngine } from '../../src/sip/port.js';
import { useProcessCleanup } from '../support/cleanup.js';
import { kamailioMissingReason, startKamailio, type KamailioHandle } from '../support/kamailio.js';
import { freePort } from '../support/ports.js';
import { publishPresence } from '../support/sip-users.js';
import { sippMissingReason } from '../support/sipp.js';
import { eventually } from '../support/poll.js';

const missing = kamailioMissingReason() ?? sippMissingReason();
if (missing) console.warn(`presence-watcher.test.ts skipped: ${missing}`);

describe.skipIf(missing !== undefined)('PresenceWatcher with real Kamailio presence', () => {
  useProcessCleanup('all');
  let kamailio: KamailioHandle;
  let engine: SipEngine | undefined;
  let watcher: PresenceWatcher | undefined;
  let table: CapabilityTable;
  let oracle: CapabilityOracle | undefined;
  let profile: SipProfile;

  beforeAll(async () => {
    kamailio = await startKamailio();
  });
  afterAll(async () => {
    await kamailio?.stop();
  });

  async function startWatcher(firstNotifyWaitMs = 2000): Promise<void> {
    const base = loadProfile('kamailio-lab');
    profile = validateProfile({
      ...base,
      identity: { ...base.identity, uri: 'sip:push-agent@127.0.0.2' },
      outboundProxy: { host: kamailio.host, port: kamailio.port, transport: 'udp' },
      presence: { ...base.presence, firstNotifyWaitMs },
    });
    engine = createEmbeddedEngine({
      listen: [{ host: '127.0.0.2', port: await freePort('127.0.0.2'), transport: 'udp' }],
      outboundProxy: { host: kamailio.host, port: kamailio.port, transport: 'udp' },
      logger: silentLogger(),
    });
    await engine.start();
    table = new CapabilityTable({ maxUsers: 100, profile });
    watcher = new PresenceWatcher({ engine, table, profile, logger: silentLogger() });
    oracle = new CapabilityOracle(table, [watcher]);
  }

  afterEach(async () => {
    await watcher?.stop(3000);
    await engine?.stop();
    watcher = undefined;
    oracle = undefined;
    engine = undefined;
  });

  it('published open → reachable; closed left once the open publication expires → unreachable on that NOTIFY', async () => {
    await startWatcher();
    const user = `pw-open-${process.pid}`;
    const aor = `sip:${user}@${kamailio.host}`;
    await publishPresence(kamailio, { user, basic: 'open', expires: 3 });
    const first = await oracle!.decide(aor);
    expect(first).toMatchObject({ reachability: 'reachable', rule: 'push-service-open' });
    expect(watcher!.stats()).toMatchObject({ subscribeAttempts: 1, parseErrors: 0 });

    // A second publication (another SIPp = another device) is aggregated by Kamailio with the first: one
    // open push tuple is enough, so the user stays reachable.
    await publishPresence(kamailio, { user, bare: true, expires: 600 });
    await eventually(
      () => table.decide(aor),
      () => table.entry(aor)?.sources.document?.tuples === 2,
    );
    expect(table.entry(aor)?.sources.document?.tuples).toBe(2);
    expect(table.decide(aor).reachability).toBe('reachable');

    // The open publication expires (3 s + clean_period 5 s): the next NOTIFY carries only the closed tuple.
    const after = await eventually(
      () => table.decide(aor),
      (d) => d.reachability === 'unreachable',
      15_000,
    );
    expect(after).toMatchObject({ reachability: 'unreachable', rule: 'all-closed' });
    expect(watcher!.stats()).toMatchObject({ subscribeAttempts: 1, parseErrors: 0 });
  }, 30_000);

  it('nothing published → Kamailio sends an empty NOTIFY → unknown (nothing-published), no flapping on re-ask', async () => {
    await startWatcher();
    const aor = `sip:pw-nobody-${process.pid}@${kamailio.host}`;
    const decision = await oracle!.decide(aor);
    expect(decision).toMatchObject({ reachability: 'unknown', rule: 'nothing-published' });
    expect((await oracle!.decide(aor)).rule).toBe('nothing-published');
    expect(watcher!.stats()).toMatchObject({ subscribeAttempts: 1, notifiesReceived: 1 });
  });

  it('concurrent decisions share one SUBSCRIBE, and stop() unsubscribes within its bound', async () => {
    await startWatcher();
    const user = `pw-shared-${process.pid}`;
    await publishPresence(kamailio, { user, basic: 'open' });
    const aor = `sip:${user}@${kamailio.host}`;
    const decisions = await Promise.all(Array.from({ length: 5 }, () => oracle!.decide(aor)));
    expect(decisions.every((d) => d.reachability === 'reachable')).toBe(true);
    expect(watcher!.stats().subscribeAttempts).toBe(1);
    const started = Date.now();
    expect(await watcher!.stop(3000)).toEqual({ unsubscribed: 1, abandoned: 0 });
    expect(Date.now() - started).toBeLessThan(3000);
  });
});

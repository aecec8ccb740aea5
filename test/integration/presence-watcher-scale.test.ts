/**
 * The presence watcher under harder conditions, against the project's real Kamailio presence server
 * through the embedded engine, with SIPp publishers:
 * - Kamailio restarted under live subscriptions (memory state lost): the refresh gets 481, the watcher
 *   resubscribes (RFC 6665 §4.1.2.2) and the table follows the publications re-sent after the restart;
 * - `basic=closed` and a removed publication (RFC 3903 §4.5, Kamailio NOTIFYs a generated closed PIDF)
 *   → unreachable on the next NOTIFY;
 * - 1,000 users from a SIPp CSV watched at once: exactly one SUBSCRIBE per user on the wire.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CapabilityOracle } from '../../src/capabilities/capability-oracle.js';
import { CapabilityTable } from '../../src/capabilities/capability-table.js';
import type { ReachabilityVerdict } from '../../src/capabilities/reachability-oracle.js';
import { silentLogger } from '../../src/lib/logger.js';
import type { BackoffPolicy } from '../../src/lib/backoff.js';
import { PresenceWatcher } from '../../src/presence/presence-watcher.js';
import { loadProfile, validateProfile } from '../../src/profiles/load-profile.js';
import type { SipProfile } from '../../src/profiles/schema.js';
import { createEmbeddedEngine } from '../../src/sip/embedded/embedded-engine.js';
import type { SipEngine } from '../../src/sip/port.js';
import { useProcessCleanup } from '../support/cleanup.js';
import { kamailioMissingReason, startKamailio, type KamailioHandle, type KamailioOptions } from '../support/kamailio.js';
import { freePort } from '../support/ports.js';
import { makeTempDir } from '../support/repo-paths.js';
import { publishPresence } from '../support/sip-users.js';
import { headerValue } from '../support/sipp-trace.js';
import { runSipp, sippMissingReason, writeSippCsv } from '../support/sipp.js';
import { requestCounter } from '../support/wire.js';
import { eventually } from '../support/poll.js';
import { DEFAULT_TIMER_VALUES } from '../../src/sip/embedded/timer-values.js';

/**
 * How many times RFC 3261 §17.1.2.2 Timer E lets one non-INVITE transaction retransmit within `windowMs`:
 * at T1, then doubling intervals capped at T2 (T1, 3·T1, 7·T1, then every T2).
 */
function timerERetransmissionsWithin(windowMs: number, { t1Ms, t2Ms } = DEFAULT_TIMER_VALUES): number {
  let count = 0;
  let interval = t1Ms;
  for (let at = t1Ms; at <= windowMs; at += interval) {
    count += 1;
    interval = Math.min(2 * interval, t2Ms);
  }
  return count;
}

const missing = kamailioMissingReason() ?? sippMissingReason();
if (missing) console.warn(`presence-watcher-scale.test.ts skipped: ${missing}`);

const AGENT_HOST = '127.0.0.2';

interface WatcherSetup {
  firstNotifyWaitMs?: number;
  expiresSeconds?: number;
  maxUsers?: number;
  maxConcurrentSubscribes?: number;
  backoff?: BackoffPolicy;
  t1Ms?: number;
}

describe.skipIf(missing !== undefined)('PresenceWatcher at scale and across a Kamailio restart', () => {
  useProcessCleanup('each');
  let kamailio: KamailioHandle | undefined;
  let engine: SipEngine | undefined;
  let watcher: PresenceWatcher | undefined;
  let table: CapabilityTable;
  let oracle: CapabilityOracle | undefined;

  afterEach(async () => {
    await watcher?.stop(5000);
    await engine?.stop();
    await kamailio?.stop();
    watcher = undefined;
    oracle = undefined;
    engine = undefined;
    kamailio = undefined;
  });

  async function start(k: KamailioOptions, w: WatcherSetup = {}): Promise<KamailioHandle> {
    const core = await startKamailio(k);
    kamailio = core;
    const base = loadProfile('kamailio-lab');
    const profile: SipProfile = validateProfile({
      ...base,
      identity: { ...base.identity, uri: `sip:push-agent@${AGENT_HOST}` },
      outboundProxy: { host: core.host, port: core.port, transport: 'udp' },
      presence: { ...base.presence, firstNotifyWaitMs: w.firstNotifyWaitMs ?? 2000, expiresSeconds: w.expiresSeconds ?? 600 },
    });
    engine = createEmbeddedEngine({
      listen: [{ host: AGENT_HOST, port: await freePort(AGENT_HOST), transport: 'udp' }],
      outboundProxy: { host: core.host, port: core.port, transport: 'udp' },
      timers: w.t1Ms ? { t1Ms: w.t1Ms } : undefined,
      logger: silentLogger(),
    });
    await engine.start();
    table = new CapabilityTable({ maxUsers: w.maxUsers ?? 100, profile });
    watcher = new PresenceWatcher({
      engine,
      table,
      profile,
      logger: silentLogger(),
      maxConcurrentSubscribes: w.maxConcurrentSubscribes,
      backoff: w.backoff,
    });
    oracle = new CapabilityOracle(table, [watcher]);
    return core;
  }

  const aorOf = (core: KamailioHandle, user: string): string => `sip:${user}@${core.host}`;
  const reachabilityOf = (aor: string): ReachabilityVerdict['reachability'] => table.decide(aor).reachability;

  it('Kamailio restarted under live subscriptions → the refresh fails, the watcher resubscribes, state follows the re-sent publications', async () => {
    // Kamailio grants at most 15 s (MAX_EXPIRES caps SUBSCRIBE and PUBLISH), so the engine refreshes at
    // 13 s on its own: no test-driven refresh, the real refresh path meets the restarted server.
    const core = await start({ defines: { MAX_EXPIRES: '15' } }, { expiresSeconds: 60, backoff: { baseMs: 200, maxMs: 2000 }, t1Ms: 250 });
    const tag = `${process.pid}`;
    const stays = aorOf(core, `rs-stays-open-${tag}`); // open before, open after
    const closes = aorOf(core, `rs-closes-${tag}`); // open before, closed after
    const opens = aorOf(core, `rs-opens-${tag}`); // closed before, open after
    await publishPresence(core, { user: `rs-stays-open-${tag}`, basic: 'open' });
    await publishPresence(core, { user: `rs-closes-${tag}`, basic: 'open' });
    await publishPresence(core, { user: `rs-opens-${tag}`, bare: true });

    const before = await Promise.all([stays, closes, opens].map((aor) => oracle!.decide(aor)));
    expect(before.map((d) => d.reachability)).toEqual(['reachable', 'reachable', 'unreachable']);
    expect(watcher!.stats()).toMatchObject({ subscribeAttempts: 3, notifiesReceived: 3 });

    const sentBefore = engine!.stats();
    const restartedAt = Date.now();
    await core.restart();
    const counter = await requestCounter(core);
    await publishPresence(core, { user: `rs-stays-open-${tag}`, basic: 'open' });
    await publishPresence(core, { user: `rs-closes-${tag}`, bare: true });
    await publishPresence(core, { user: `rs-opens-${tag}`, basic: 'open' });
    // Nothing tells the watcher yet: the table still holds the pre-restart state.
    expect([stays, closes, opens].map(reachabilityOf)).toEqual(['reachable', 'reachable', 'unreachable']);

    const want = ['reachable', 'unreachable', 'reachable'];
    const after = await eventually(
      () => [stays, closes, opens].map(reachabilityOf),
      (r) => r.join() === want.join(),
      25_000,
    );
    const seconds = (Date.now() - restartedAt) / 1000;
    expect(after).toEqual(want);
    const stats = watcher!.stats();
    const delta = await counter.delta();
    const sent = engine!.stats();
    const subscribesSent = (sent.requestsSent.SUBSCRIBE ?? 0) - (sentBefore.requestsSent.SUBSCRIBE ?? 0);
    const refreshes481 = (sent.responsesReceived['481'] ?? 0) - (sentBefore.responsesReceived['481'] ?? 0);
    const retransmissions = sent.retransmissions - sentBefore.retransmissions;
    console.log(
      `restart: state correct again ${seconds.toFixed(1)} s after the restart; SUBSCRIBE transactions after it ${subscribesSent} ` +
        `(${refreshes481} refreshes answered 481), SUBSCRIBEs counted by Kamailio ${delta.subscribe}, NOTIFYs ${stats.notifiesReceived}`,
    );
    expect(seconds).toBeLessThan(25);
    expect(stats.subscriptions.active).toBe(3);
    expect(stats).toMatchObject({ resubscribesScheduled: 3, subscribeAttempts: 6, subscribeFailures: 0, parseErrors: 0 });
    // Per user: the refresh (481: the restarted server lost the dialog) and one new SUBSCRIBE; no storm.
    expect(refreshes481).toBe(3);
    expect(subscribesSent).toBe(6);
    // Kamailio counts each in-dialog refresh twice: the engine sends it with `Route: <proxy;lr>` and a
    // Request-URI that is Kamailio's own Contact, which Kamailio takes for strict routing and relays to
    // itself. UDP retransmissions (a loaded machine) are datagrams too.
    expect(delta.subscribe).toBeGreaterThanOrEqual(6);
    expect(delta.subscribe).toBeLessThanOrEqual(9 + retransmissions);
  }, 45_000);

  it('only ever published closed → unreachable on the next NOTIFY; an open publication removed (Expires: 0) → unreachable', async () => {
    const core = await start({});
    const tag = `${process.pid}`;

    // Watched before anything was published: the empty NOTIFY → unknown; the closed PUBLISH → next NOTIFY.
    const closed = aorOf(core, `cl-closed-${tag}`);
    expect(await oracle!.decide(closed)).toMatchObject({ reachability: 'unknown', rule: 'nothing-published' });
    const notifies = watcher!.stats().notifiesReceived;
    await publishPresence(core, { user: `cl-closed-${tag}`, bare: true });
    const closedDecision = await eventually(
      () => table.decide(closed),
      (d) => d.reachability !== 'unknown',
      5000,
    );
    expect(closedDecision).toMatchObject({ reachability: 'unreachable', rule: 'all-closed' });
    expect(watcher!.stats().notifiesReceived).toBe(notifies + 1);

    // Open, then the publication removed: Kamailio NOTIFYs a generated PIDF with basic=closed.
    const user = `cl-removed-${tag}`;
    const removed = aorOf(core, user);
    const published = await publishPresence(core, { user, basic: 'open' });
    const ok = published.handle.messages().find((m) => m.direction === 'received' && m.status === 200);
    const etag = ok && headerValue(ok.text, 'SIP-ETag');
    expect(etag).toBeTruthy();
    expect(await oracle!.decide(removed)).toMatchObject({ reachability: 'reachable', rule: 'push-service-open' });
    const handle = await runSipp({
      scenario: 'test/sipp/publish-remove.xml',
      remote: `${core.host}:${core.port}`,
      calls: 1,
      timeoutS: 10,
      keys: { user, domain: core.host, etag: etag! },
    });
    const result = await handle.done;
    expect(result.code, handle.errorsLog()).toBe(0);
    const removedDecision = await eventually(
      () => table.decide(removed),
      (d) => d.reachability !== 'reachable',
      5000,
    );
    expect(removedDecision).toMatchObject({ reachability: 'unreachable', rule: 'all-closed' });
    expect(watcher!.stats()).toMatchObject({ subscribeAttempts: 2, parseErrors: 0, resubscribesScheduled: 0 });
  }, 30_000);

  it('1,000 users from a SIPp CSV watched at once: one SUBSCRIBE per user on the wire, all decided in bounded time', async () => {
    const users = 1000;
    // 20 SUBSCRIBEs in flight: with 50 on 2 shared cores some 200 OKs came later than T1 (500 ms) and ~3 %
    // were retransmitted over UDP, which Kamailio counts (per datagram) as more SUBSCRIBEs.
    const core = await start({ shmMb: 256, children: 4 }, { maxUsers: 2 * users, maxConcurrentSubscribes: 20 });
    const tag = `${process.pid}`;
    // Users 0..499 publish open (push service), 500..749 publish closed, 750..999 publish nothing.
    const names = Array.from({ length: users }, (_, i) => `scale-${tag}-${i}`);
    const kindOf = (i: number): 'open' | 'closed' | 'none' => (i < 500 ? 'open' : i < 750 ? 'closed' : 'none');
    const rows = names.flatMap((name, i) => (kindOf(i) === 'none' ? [] : [[name, kindOf(i), 'org.openmobilealliance:Push']]));
    const dir = makeTempDir('presence-scale');
    const publisher = await runSipp({
      scenario: 'test/sipp/publish-csv.xml',
      remote: `${core.host}:${core.port}`,
      injectCsv: writeSippCsv(dir, 'publishers.csv', rows),
      calls: rows.length,
      rate: 500,
      timeoutS: 20,
      keys: { domain: core.host, expires: '600' },
    });
    const published = await publisher.done;
    expect(published.code, publisher.errorsLog()).toBe(0);

    const counter = await requestCounter(core);
    const sentBefore = engine!.stats();
    const started = Date.now();
    const aors = names.map((name) => aorOf(core, name));
    await watcher!.watch(aors);
    const subscribedS = (Date.now() - started) / 1000;
    // Every user gets its first NOTIFY (the empty one for non-publishers).
    const decided = await eventually(
      () => aors.filter((aor) => table.decide(aor).rule !== 'no-presence').length,
      (n) => n === users,
      60_000,
    );
    const decidedS = (Date.now() - started) / 1000;
    const delta = await counter.delta();
    const stats = watcher!.stats();
    const sent = engine!.stats();
    const transactions = (sent.requestsSent.SUBSCRIBE ?? 0) - (sentBefore.requestsSent.SUBSCRIBE ?? 0);
    const retransmissions = sent.retransmissions - sentBefore.retransmissions;
    console.log(
      `1,000 users: SUBSCRIBEs on the wire ${delta.subscribe} (transactions ${transactions}, UDP retransmissions ${retransmissions}), ` +
        `NOTIFYs received ${stats.notifiesReceived}, all SUBSCRIBEs settled in ${subscribedS.toFixed(1)} s, ` +
        `all decided in ${decidedS.toFixed(1)} s`,
    );
    expect(decided).toBe(users);
    expect(transactions).toBe(users);
    // Kamailio counts datagrams: one per user, plus at most the transaction layer's retransmissions (0 on a
    // quiet machine; only when a 200 OK took longer than T1 because the 2 cores were busy). A retransmission
    // may cross the 200 OK and reach Kamailio after its counters were read, so it is an upper bound.
    expect(delta.subscribe).toBeGreaterThanOrEqual(users);
    expect(delta.subscribe).toBeLessThanOrEqual(users + retransmissions);
    // How many retransmissions there are is a property of the machine's load, not of the code: each one is
    // a 200 OK (or, server side, our 200 to a NOTIFY) that took longer than T1. A 2-core box under load sent
    // 685 for 1,000 users, all legitimate. What the code must not do is storm: the counter covers the
    // SUBSCRIBE client transactions and the NOTIFY server transactions (a retransmitted NOTIFY answered
    // again), and no transaction lived longer than the whole run, so none may exceed what Timer E allows in
    // that window. A transaction retransmitting off-schedule or per response received breaks this bound.
    const perTransaction = timerERetransmissionsWithin(decidedS * 1000);
    expect(retransmissions).toBeLessThanOrEqual((transactions + stats.notifiesReceived) * perTransaction);
    expect(stats).toMatchObject({ subscribeAttempts: users, subscribeFailures: 0, resubscribesScheduled: 0, parseErrors: 0 });
    expect(stats.subscriptions.active).toBe(users);
    expect(stats.notifiesReceived).toBe(users);
    expect(sent.transactionTimeouts - sentBefore.transactionTimeouts).toBe(0);
    // An upper bound for "all get decided", not a speed claim: 1,000 round trips, 20 in flight, against a
    // Kamailio on the same 2 cores took 18-54 s at load average ~25 (the 200s were late, not lost).
    expect(decidedS).toBeLessThan(120);

    const count = (want: string): number => aors.filter((aor) => reachabilityOf(aor) === want).length;
    expect({ reachable: count('reachable'), unreachable: count('unreachable'), unknown: count('unknown') }).toEqual({
      reachable: 500,
      unreachable: 250,
      unknown: 250,
    });
    expect(aors.slice(750).every((aor) => table.decide(aor).rule === 'nothing-published')).toBe(true);

    const stopStarted = Date.now();
    // stop() returns once every subscription is ended; the budget is an upper bound for that. 1,000
    // un-SUBSCRIBEs took 8-31 s here at load average ~25; with 10 s, 393 of them were abandoned once.
    const stopped = await watcher!.stop(60_000);
    watcher = undefined;
    oracle = undefined;
    console.log(
      `1,000 users: stop() unsubscribed ${stopped.unsubscribed}, abandoned ${stopped.abandoned} in ${((Date.now() - stopStarted) / 1000).toFixed(1)} s`,
    );
    expect(stopped).toEqual({ unsubscribed: users, abandoned: 0 });
  }, 300_000);
});

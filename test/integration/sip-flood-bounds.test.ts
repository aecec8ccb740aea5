/**
 * SIP floods against the agent as its own OS process (embedded engine, default RFC 3261 timers, so a
 * finished UDP server transaction is held for Timer J = 64·T1 = 32 s): from the trusted core address and
 * from an untrusted one, over UDP and TCP. Each flood is bounded in count and time; the agent's resident
 * memory (/proc VmRSS) and open file descriptors must stay under ceilings that leave room for a loaded
 * 2-core machine, and afterwards it must still answer /healthz and deliver a push through the core.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planAgent, spawnAgent, type AgentProcess } from '../support/agent-process.js';
import { labProfile, papPush, postPap, PpgStandIn, userAddress } from '../support/agent-under-test.js';
import { useProcessCleanup } from '../support/cleanup.js';
import { kamailioMissingReason, startKamailio, type KamailioHandle } from '../support/kamailio.js';
import { eventually, waitUntil } from '../support/poll.js';
import { registerUser, startMessageUas } from '../support/sip-users.js';
import { fdCount, floodRequest, openConnections, rssMb, sampler, udpFlood } from '../support/sip-flood.js';
import type { SippHandle } from '../support/sipp.js';
import { sippMissingReason } from '../support/sipp.js';
import { optionsPing } from '../support/wire.js';

const missing = kamailioMissingReason() ?? sippMissingReason();
if (missing) console.warn(`sip-flood-bounds.test.ts skipped: ${missing}`);

const AGENT = '127.0.0.2';
/** The core (Kamailio) runs on 127.0.0.1: its address is the default trusted peer; .4 is trusted too. */
const TRUSTED = '127.0.0.1';
const TRUSTED_2 = '127.0.0.4';
const UNTRUSTED = '127.0.0.3';
/** Ceilings. Bounded engine: +30 MiB and no fds in one run; unbounded state: +240 MiB, one fd per connection. */
const RSS_GROWTH_CEILING_MB = 100;
const FD_SLACK = 25;
const MESSAGE_TIMEOUT_MS = 1500;
const MAX_CONNECTIONS = 150;
const MAX_PER_PEER = 100;
/** Low, so that the NOTIFY flood fills it within its time bound even on a busy machine. */
const MAX_SERVER_TRANSACTIONS = 500;

describe.skipIf(missing !== undefined)('SIP flood: bounded memory and file descriptors', () => {
  useProcessCleanup('all');
  let kamailio: KamailioHandle;
  let uas: SippHandle;
  let ppg: PpgStandIn;
  let agent: AgentProcess;
  let sipPort: number;

  beforeAll(async () => {
    kamailio = await startKamailio();
    uas = await startMessageUas({ timeoutS: 300 });
    await registerUser(kamailio, { user: 'flood-ok', contactPort: uas.port });
    ppg = new PpgStandIn();
    await ppg.start();
    const plan = await planAgent(labProfile(kamailio), {
      policy: 'always-sip',
      log: { level: 'warn', pretty: false },
      sip: {
        timers: { t1Ms: 500, t2Ms: 4000, t4Ms: 5000 },
        trustedPeers: [TRUSTED, TRUSTED_2],
        limits: {
          maxServerTransactions: MAX_SERVER_TRANSACTIONS,
          tcp: { messageTimeoutMs: MESSAGE_TIMEOUT_MS, maxConnections: MAX_CONNECTIONS, maxConnectionsPerPeer: MAX_PER_PEER },
        },
      },
      ppg: { handBackUrl: ppg.url('/handback') },
    });
    sipPort = plan.sipPort;
    agent = spawnAgent(plan);
    await agent.ready();
  }, 60_000);

  afterAll(async () => {
    await agent?.stop();
    await ppg?.stop();
  });

  const target = () => ({ host: AGENT, port: sipPort });

  it('UDP from the trusted core: 60 KB-header OPTIONS get 513 and hold nothing; NOTIFYs for unknown dialogs are capped with 503', async () => {
    const before = rssMb(agent.pid);
    const rss = sampler(() => rssMb(agent.pid));
    const big = await udpFlood({
      sourceHost: TRUSTED,
      to: target(),
      count: 2500,
      perSecond: 1000,
      window: 2,
      maxMs: 6000,
      make: (i, local) =>
        floodRequest({ method: 'OPTIONS', to: target(), via: { ...local, transport: 'UDP' }, branch: `z9hG4bK-big-${i}`, filler: 60_000 }),
    });
    const notifies = await udpFlood({
      sourceHost: TRUSTED,
      to: target(),
      count: 5000,
      perSecond: 5000,
      window: 50,
      maxMs: 8000,
      make: (i, local) =>
        floodRequest({ method: 'NOTIFY', to: target(), via: { ...local, transport: 'UDP' }, branch: `z9hG4bK-nfy-${i}`, toTag: 'nope' }),
    });
    const peak = rss.stop();
    console.log(
      `UDP trusted flood: RSS ${before.toFixed(0)} → peak ${peak.toFixed(0)} MiB; 60 KB OPTIONS sent ${big.sent}, answers ${JSON.stringify(big.statuses)}; ` +
        `NOTIFY sent ${notifies.sent}, answers ${JSON.stringify(notifies.statuses)}`,
    );
    expect(peak - before).toBeLessThan(RSS_GROWTH_CEILING_MB);
    expect(big.statuses[200] ?? 0).toBe(0);
    expect(big.statuses[513]).toBeGreaterThan(0);
    expect(notifies.statuses[481]).toBeGreaterThan(0);
    expect(notifies.statuses[481]).toBeLessThanOrEqual(MAX_SERVER_TRANSACTIONS);
    expect(notifies.statuses[503]).toBeGreaterThan(0);
    expect(notifies.samples[503]).toMatch(/^Retry-After: *\d+\r$/im);
  }, 60_000);

  it('UDP from an untrusted address: 403 or dropped, nothing held', async () => {
    const before = rssMb(agent.pid);
    const rss = sampler(() => rssMb(agent.pid));
    const flood = await udpFlood({
      sourceHost: UNTRUSTED,
      to: target(),
      count: 10_000,
      perSecond: 5000,
      window: 20,
      maxMs: 6000,
      make: (i, local) =>
        floodRequest({
          method: i % 2 ? 'NOTIFY' : 'OPTIONS',
          to: target(),
          via: { ...local, transport: 'UDP' },
          branch: `z9hG4bK-out-${i}`,
          toTag: i % 2 ? 'x' : undefined,
          filler: i % 20 === 0 ? 60_000 : 0,
        }),
    });
    const peak = rss.stop();
    console.log(
      `UDP untrusted flood: RSS ${before.toFixed(0)} → peak ${peak.toFixed(0)} MiB; sent ${flood.sent}, answers ${JSON.stringify(flood.statuses)}`,
    );
    expect(Object.keys(flood.statuses).filter((s) => s !== '403')).toEqual([]);
    expect(flood.statuses[403]).toBeGreaterThan(0);
    expect(peak - before).toBeLessThan(RSS_GROWTH_CEILING_MB);
  }, 60_000);

  it('TCP from an untrusted address: every connection is closed at accept, before it sends a whole message', async () => {
    const fdsBefore = fdCount(agent.pid);
    const fds = sampler(() => fdCount(agent.pid));
    const partial = Buffer.from(`OPTIONS sip:agent@${AGENT} SIP/2.0\r\nX-Filler: ${'b'.repeat(30_000)}`, 'latin1');
    const held = await openConnections({ sourceHost: UNTRUSTED, to: target(), count: 600, maxMs: 8000, first: partial });
    try {
      const open = await eventually(
        () => held.open(),
        (n) => n === 0,
        3000,
      );
      const peak = fds.stop();
      console.log(`TCP untrusted: ${held.sockets.length} opened, ${open} still open after 3 s; agent fds ${fdsBefore} → peak ${peak}`);
      expect(open).toBe(0);
      expect(peak - fdsBefore).toBeLessThan(MAX_CONNECTIONS);
    } finally {
      fds.stop();
      held.destroy();
    }
  }, 30_000);

  it('TCP from the trusted core: a message trickled a byte at a time is cut at its deadline, not kept alive by the bytes', async () => {
    const head = Buffer.from(`OPTIONS sip:agent@${AGENT} SIP/2.0\r\nVia: SIP/2.0/TCP ${TRUSTED}:5999;branch=z9hG4bK-slow\r\n`, 'latin1');
    const held = await openConnections({ sourceHost: TRUSTED, to: target(), count: 3, maxMs: 3000, first: head });
    const started = Date.now();
    const trickle = setInterval(() => {
      for (const s of held.sockets) if (!s.destroyed) s.write('X');
    }, 100);
    try {
      const closed = await waitUntil(() => held.open() === 0, MESSAGE_TIMEOUT_MS + 4000);
      const after = held.closedByPeerAtMs.map((t) => t - started);
      console.log(`TCP slow message: closed by the agent after ${JSON.stringify(after)} ms (deadline ${MESSAGE_TIMEOUT_MS} ms)`);
      expect(closed).toBe(true);
      for (const ms of after) expect(ms).toBeGreaterThanOrEqual(MESSAGE_TIMEOUT_MS - 300);
    } finally {
      clearInterval(trickle);
      held.destroy();
    }
  }, 30_000);

  it('TCP connection caps: at most maxConnectionsPerPeer from one peer and maxConnections in all', async () => {
    const fdsBefore = fdCount(agent.pid);
    const fds = sampler(() => fdCount(agent.pid));
    const first = await openConnections({ sourceHost: TRUSTED, to: target(), count: 400, maxMs: 8000 });
    const second = await openConnections({ sourceHost: TRUSTED_2, to: target(), count: 400, maxMs: 8000 });
    try {
      const settled = await eventually(
        () => [first.open(), second.open()],
        ([a, b]) => a! <= MAX_PER_PEER && a! + b! <= MAX_CONNECTIONS,
        3000,
      );
      const peak = fds.stop();
      console.log(`TCP caps: open ${JSON.stringify(settled)} of 400 + 400; agent fds ${fdsBefore} → peak ${peak}`);
      expect(settled[0]).toBeLessThanOrEqual(MAX_PER_PEER);
      expect(settled[0]! + settled[1]!).toBeLessThanOrEqual(MAX_CONNECTIONS);
      expect(settled[0]! + settled[1]!).toBeGreaterThanOrEqual(MAX_CONNECTIONS - 5);
      expect(fdCount(agent.pid) - fdsBefore).toBeLessThanOrEqual(MAX_CONNECTIONS + FD_SLACK);
    } finally {
      fds.stop();
      first.destroy();
      second.destroy();
    }
    // the slots come back when those peers go away
    expect(await waitUntil(() => fdCount(agent.pid) - fdsBefore < FD_SLACK, 5000)).toBe(true);
  }, 40_000);

  it('still answers /healthz, delivers a push, and answers SIP 200 again once Timer J has freed the held transactions', async () => {
    const health = await fetch(`${agent.baseUrl}/healthz`, { signal: AbortSignal.timeout(3000) });
    expect(health.status).toBe(200);
    const push = await postPap(
      agent.papUrl,
      papPush({ pushId: 'after-flood-1', address: userAddress(`sip:flood-ok@${kamailio.host}`), content: Buffer.from('still here') }),
    );
    expect(/code="(\d+)"/.exec(push.text)?.[1]).toBe('1001');
    const delivered = await eventually(
      () => uas.messages().filter((m) => m.method === 'MESSAGE' && m.bodyBytes?.toString('latin1').includes('still here')).length,
      (n) => n > 0,
      10_000,
    );
    expect(delivered).toBe(1);
    // The NOTIFY flood filled the server-transaction cap; 64·T1 = 32 s after it, requests are served again.
    const ping = (transport: 'udp' | 'tcp') =>
      eventually(
        () => optionsPing(AGENT, sipPort, transport, 1000),
        (status) => status === 200,
        45_000,
        200,
      );
    expect(await ping('udp')).toBe(200);
    expect(await ping('tcp')).toBe(200);
  }, 80_000);
});

/**
 * Cluster mode assembled from the config, with real parts: two in-process agents (embedded engines, HTTP
 * intake) on one PostgreSQL and one Redis, a real Kamailio with presence, SIPp handsets. The config
 * selects the shared store and table; a push accepted by A is read at B, and its push-id reused at B is
 * PAP 2007; open pushes whose lease lapsed (their agent stopped hard) are taken over and end terminal; a
 * push at B for a user A watches is decided on A's evidence without a SUBSCRIBE from B; each wanted user
 * is watched by exactly one agent, and by the survivor once the other leaves. PostgreSQL down: intake
 * answers 4001 and a push accepted before is delivered once it is back; Redis down: pushes are still
 * decided and the agent recovers by itself.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ownerOf } from '../../src/cluster/rendezvous.js';
import { PgPushStore } from '../../src/push/store/postgres/pg-push-store.js';
import { useProcessCleanup } from '../support/cleanup.js';
import { type AgentUnderTest, papControl, papPush, postPap, startAgentUnderTest, userAddress } from '../support/agent-under-test.js';
import { type KamailioHandle, kamailioMissingReason, startKamailio } from '../support/kamailio.js';
import { eventually, letTimePass, waitFor } from '../support/poll.js';
import { type PostgresHandle, postgresMissingReason, startPostgres } from '../support/postgres.js';
import { type RedisHandle, redisMissingReason, startRedis } from '../support/redis.js';
import { makeTempDir } from '../support/repo-paths.js';
import { publishPresence, registerUser, startMessageUas } from '../support/sip-users.js';
import { sippMissingReason } from '../support/sipp.js';

const missing = postgresMissingReason() ?? redisMissingReason() ?? kamailioMissingReason() ?? sippMissingReason();
if (missing) console.warn(`cluster-agents: skipped: ${missing}`);

const LEASE_MS = 3000;
const TICK_MS = 300;
const WATCHED = Array.from({ length: 6 }, (_, i) => `cl-w${i}`);

const papCode = (xml: string) => Number(/code="(\d+)"/.exec(xml)?.[1]);
const messageState = (xml: string) => /message-state="([a-z-]+)"/.exec(xml)?.[1];

/** The sum of one metric's samples in a `/metrics` scrape (optionally only those with `label`). */
async function metric(agent: AgentUnderTest, name: string, label = ''): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${agent.agent.http.port}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith(name) && (l[name.length] === ' ' || l[name.length] === '{') && l.includes(label))
    .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
}

describe.skipIf(missing !== undefined)('cluster mode: two agents on one PostgreSQL and Redis', () => {
  useProcessCleanup('all');
  let postgres: PostgresHandle;
  let redisServer: RedisHandle;
  let kamailio: KamailioHandle;
  let redis: Redis;
  let a: AgentUnderTest;
  let b: AgentUnderTest;
  const aor = (user: string) => `sip:${user}@${kamailio.host}`;

  const startMember = (instanceId: string, watchList: string) =>
    startAgentUnderTest(kamailio, {
      config: {
        store: { kind: 'postgres', postgres: { url: postgres.url, poolSize: 4 } },
        capabilityTable: { kind: 'redis', redis: { url: redisServer.url } },
        cluster: { instanceId, leaseMs: LEASE_MS, tickMs: TICK_MS },
        presence: { watchList },
      },
    });

  beforeAll(async () => {
    [postgres, redisServer, kamailio] = await Promise.all([startPostgres(), startRedis(), startKamailio()]);
    redis = new Redis(redisServer.url, { maxRetriesPerRequest: 1 });
    redis.on('error', () => undefined); // the Redis-down case stops the server under it
    const watchList = join(makeTempDir('cluster-watch-'), 'watch.txt');
    writeFileSync(watchList, `${WATCHED.map(aor).join('\n')}\n`);
    // Started one after the other: both run the migrations, the second finds them done.
    a = await startMember('agent-a', watchList);
    b = await startMember('agent-b', watchList);
  }, 60_000);
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    redis?.disconnect();
  });

  it('the config selects the shared store and table; each agent sees the other', async () => {
    expect(() => a.agent.store).toThrow(/store.kind postgres/);
    expect(
      await eventually(
        () => metric(a, 'spa_cluster_members'),
        (n) => n === 2,
        10_000,
      ),
    ).toBe(2);
    expect(
      await eventually(
        () => metric(b, 'spa_cluster_members'),
        (n) => n === 2,
        10_000,
      ),
    ).toBe(2);
    const ready = (await (await fetch(`http://127.0.0.1:${a.agent.http.port}/readyz`)).json()) as { checks: Record<string, boolean> };
    expect(ready.checks).toMatchObject({ store: true, storeWritable: true });
  });

  it('a push accepted by A is read at B; its push-id reused at B is PAP 2007', async () => {
    const uas = await startMessageUas({ calls: 1, timeoutS: 30 });
    await registerUser(kamailio, { user: 'cl-alice', contactPort: uas.port });
    await publishPresence(kamailio, { user: 'cl-alice', basic: 'open' });
    const push = papPush({ pushId: 'cl-1', address: userAddress(aor('cl-alice')), content: Buffer.from('hello') });
    const accepted = await postPap(a.papUrl, push);
    expect(papCode(accepted.text)).toBe(1001);
    const state = await eventually(
      async () => messageState((await postPap(b.papUrl, papControl('statusquery-message', 'cl-1'))).text),
      (s) => s === 'delivered',
      15_000,
    );
    expect(state).toBe('delivered');
    expect((await uas.done).code).toBe(0);
    const again = await postPap(b.papUrl, push);
    expect(papCode(again.text)).toBe(2007);
  });

  it('open pushes of an agent that stopped hard (its lease lapsed) are taken over and end terminal', async () => {
    const uas = await startMessageUas({ calls: 2, timeoutS: 30 });
    await registerUser(kamailio, { user: 'cl-bob', contactPort: uas.port });
    await publishPresence(kamailio, { user: 'cl-bob', basic: 'open' });
    // A third agent accepted two pushes and had one mid-delivery when it died.
    const pool = new pg.Pool({ connectionString: postgres.url, max: 1 });
    const dead = new PgPushStore({ pool, owner: 'agent-dead', leaseMs: 60_000 });
    for (const pushId of ['orphan-1', 'orphan-2']) {
      const { contentType, body } = papPush({ pushId, address: userAddress(aor('cl-bob')), content: Buffer.from(pushId) });
      await dead.insert({
        pushId,
        address: userAddress(aor('cl-bob')),
        aor: aor('cl-bob'),
        requestContentType: contentType,
        requestBody: body,
      });
    }
    await dead.transition('orphan-2', 'delivering');
    // It stopped renewing: its leases lapse (here at once rather than after its lease time).
    await pool.query("UPDATE pushes SET lease_until = 0 WHERE lease_owner = 'agent-dead'");
    await pool.end();
    const before =
      (await metric(a, 'spa_cluster_takeovers_total', 'kind="push"')) + (await metric(b, 'spa_cluster_takeovers_total', 'kind="push"'));
    const states = await eventually(
      async () => Promise.all(['orphan-1', 'orphan-2'].map(async (id) => (await a.agent.pushStore.get(id))?.state)),
      (s) => s.every((x) => x === 'delivered'),
      20_000,
    );
    expect(states).toEqual(['delivered', 'delivered']);
    const after =
      (await metric(a, 'spa_cluster_takeovers_total', 'kind="push"')) + (await metric(b, 'spa_cluster_takeovers_total', 'kind="push"'));
    expect(after - before).toBe(2);
    // Each resumed once: one MESSAGE per push reached the handset, the mid-delivery one marked resumed.
    expect((await uas.done).code).toBe(0);
    const history = await a.agent.pushStore.history('orphan-2');
    expect(history.map((h) => h.to)).toEqual(['accepted', 'delivering', 'accepted', 'delivering', 'delivered']);
  });

  it('each wanted user is watched by exactly one agent: its rendezvous owner, holding the lease', async () => {
    const members = ['agent-a', 'agent-b'];
    const watchers = (user: string) =>
      [a, b].filter((m) => m.agent.watcher.isWatching(aor(user))).map((m) => m.agent.config.cluster.instanceId);
    const holders = async () => Promise.all(WATCHED.map((u) => redis.get(`spa:watch:${aor(u)}`)));
    // A started alone and took every user; B's share moves to B once A sees it (bounded per round).
    await waitFor(
      async () => {
        const held = await holders();
        return WATCHED.every((u, i) => {
          const w = watchers(u);
          return w.length === 1 && w[0] === held[i] && w[0] === ownerOf(aor(u), members);
        });
      },
      'every watched user watched by its owner only',
      15_000,
    );
    expect(WATCHED.filter((u) => ownerOf(aor(u), members) === 'agent-a').length).toBeGreaterThan(0);
  });

  it('a push at B for a user A watches is decided on A’s evidence, without a SUBSCRIBE from B', async () => {
    const user = WATCHED.find((u) => ownerOf(aor(u), ['agent-a', 'agent-b']) === 'agent-a') as string;
    expect(a.agent.watcher.isWatching(aor(user))).toBe(true);
    const uas = await startMessageUas({ calls: 1, timeoutS: 30 });
    await registerUser(kamailio, { user, contactPort: uas.port });
    await publishPresence(kamailio, { user, basic: 'open' });
    // A's NOTIFY reaches the shared table; B decides on it.
    const accepted = await postPap(b.papUrl, papPush({ pushId: 'cl-shared', address: userAddress(aor(user)), content: Buffer.from('x') }));
    expect(papCode(accepted.text)).toBe(1001);
    await waitFor(async () => (await b.agent.pushStore.get('cl-shared'))?.state === 'delivered', 'cl-shared delivered', 15_000);
    expect(b.agent.watcher.isWatching(aor(user))).toBe(false);
    expect((await uas.done).code).toBe(0);
  });

  it('a push at B for a new user A owns: B does not subscribe, A takes the user and B waits for its evidence', async () => {
    const user = Array.from({ length: 20 }, (_, i) => `cl-new${i}`).find(
      (u) => ownerOf(aor(u), ['agent-a', 'agent-b']) === 'agent-a',
    ) as string;
    const answer = await postPap(b.papUrl, papPush({ pushId: 'cl-new', address: userAddress(aor(user)), content: Buffer.from('n') }));
    expect([1001, 3010]).toContain(papCode(answer.text));
    await waitFor(() => a.agent.watcher.isWatching(aor(user)), 'agent-a watching the new user', 10_000);
    expect(b.agent.watcher.isWatching(aor(user))).toBe(false);
  });

  it('when B leaves, A watches every wanted user', async () => {
    await b.stop();
    await waitFor(() => WATCHED.every((u) => a.agent.watcher.isWatching(aor(u))), 'agent-a watching all users', LEASE_MS + 10_000);
    expect(
      await eventually(
        () => metric(a, 'spa_cluster_members'),
        (n) => n === 1,
        10_000,
      ),
    ).toBe(1);
  });

  it('PostgreSQL down: intake answers 4001, readiness says so, an accepted push is kept and delivered once it is back', async () => {
    const uas = await startMessageUas({ calls: 1, timeoutS: 60 });
    await registerUser(kamailio, { user: 'cl-carol', contactPort: uas.port });
    await publishPresence(kamailio, { user: 'cl-carol', basic: 'open' });
    // Due in 2 s: its delivery (the move to `delivering`) falls into the outage.
    const due = new Date(Date.now() + 2000).toISOString().replace(/\.\d+Z$/, 'Z');
    const kept = papPush({ pushId: 'cl-kept', address: userAddress(aor('cl-carol')), content: Buffer.from('k'), deliverAfter: due });
    expect(papCode((await postPap(a.papUrl, kept)).text)).toBe(1001);
    await postgres.stop();
    const refused = await postPap(
      a.papUrl,
      papPush({ pushId: 'cl-down', address: userAddress(aor('cl-carol')), content: Buffer.from('d') }),
    );
    expect(refused.status).toBe(503);
    expect(papCode(refused.text)).toBe(4001);
    const readyz = async () =>
      ((await (await fetch(`http://127.0.0.1:${a.agent.http.port}/readyz`)).json()) as { checks: Record<string, boolean> }).checks;
    expect((await eventually(readyz, (c) => c.storeWritable === false, 5000)).storeWritable).toBe(false);
    // The outage outlasts the push's due time (that the time passes is the point here).
    await letTimePass(2500);
    await postgres.restart();
    await waitFor(async () => (await readyz()).storeWritable && (await readyz()).store, 'store writable again', 20_000);
    await waitFor(async () => (await a.agent.pushStore.get('cl-kept'))?.state === 'delivered', 'cl-kept delivered', 20_000);
    expect(await a.agent.pushStore.get('cl-down')).toBeUndefined();
    const again = await postPap(
      a.papUrl,
      papPush({ pushId: 'cl-after', address: userAddress(aor('cl-carol')), content: Buffer.from('a') }),
    );
    expect(papCode(again.text)).toBe(1001);
    expect((await uas.done).code).toBe(0);
  });

  it('Redis down: pushes are still decided (local evidence, the profile rules), failures counted, nothing crashes', async () => {
    const before = await metric(a, 'spa_internal_errors_total');
    await redisServer.stop();
    const answer = await postPap(
      a.papUrl,
      papPush({ pushId: 'cl-noredis', address: userAddress(aor('cl-nobody')), content: Buffer.from('r') }),
    );
    expect([1001, 3010]).toContain(papCode(answer.text));
    expect(
      await eventually(
        () => metric(a, 'spa_internal_errors_total'),
        (n) => n > before,
        5000,
      ),
    ).toBeGreaterThan(before);
    await redisServer.restart();
    // Back by itself: the ownership rounds see this agent as a member again.
    expect(
      await eventually(
        () => metric(a, 'spa_cluster_members'),
        (n) => n === 1,
        15_000,
      ),
    ).toBe(1);
    expect((await fetch(`http://127.0.0.1:${a.agent.http.port}/healthz`)).status).toBe(200);
  });
});

/**
 * "Who watches whom" across a cluster, on a real Redis: three agents' ownership loops share 600 watched
 * users so that each is watched by exactly one agent; when one dies its users are taken over by the
 * others after its leases lapse; when a member joins, users move to it at a bounded rate — and at no
 * moment do two live agents watch the same user.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WatchLeases } from '../../src/cluster/watch-leases.js';
import { WatchOwnership } from '../../src/cluster/watch-ownership.js';
import { stopAllProcesses } from '../support/cleanup.js';
import { waitUntil } from '../support/poll.js';
import { type RedisHandle, redisMissingReason, startRedis } from '../support/redis.js';

const missing = redisMissingReason();
if (missing) console.warn(`cluster-watch-ownership: skipped: ${missing}`);

const LEASE_MS = 1500;
const TICK_MS = 250;
const MAX_MOVES = 100;
const USERS = Array.from({ length: 600 }, (_, i) => `sip:u${i}@ims.example.net`);

interface SimAgent {
  id: string;
  watching: Set<string>;
  ownership: WatchOwnership;
  redis: Redis;
  alive: boolean;
  maxAcquiredPerCall: number;
  lost: number;
}

describe.skipIf(missing !== undefined)('cluster watch ownership on Redis', () => {
  let server: RedisHandle;
  const agents: SimAgent[] = [];
  const violations: string[] = [];

  beforeAll(async () => {
    server = await startRedis();
  }, 30_000);
  afterAll(async () => {
    for (const a of agents) {
      await a.ownership.stop(false);
      a.redis.disconnect();
    }
    await stopAllProcesses();
  });

  function start(id: string): SimAgent {
    const redis = new Redis(server.url, { maxRetriesPerRequest: 2 });
    const leases = new WatchLeases({ redis, instanceId: id, leaseMs: LEASE_MS });
    const agent: SimAgent = { id, watching: new Set(), redis, alive: true, maxAcquiredPerCall: 0, lost: 0, ownership: undefined as never };
    agent.ownership = new WatchOwnership({
      leases,
      tickMs: TICK_MS,
      maxMovesPerTick: MAX_MOVES,
      onAcquired: (aors) => {
        agent.maxAcquiredPerCall = Math.max(agent.maxAcquiredPerCall, aors.length);
        for (const aor of aors) {
          const other = agents.find((o) => o !== agent && o.alive && o.watching.has(aor));
          if (other) violations.push(`${aor} acquired by ${id} while ${other.id} watches it`);
          agent.watching.add(aor);
        }
      },
      onReleasing: async (aors) => {
        for (const aor of aors) agent.watching.delete(aor);
      },
      onLost: (aors) => {
        agent.lost += aors.length;
        for (const aor of aors) agent.watching.delete(aor);
      },
    });
    agents.push(agent);
    agent.ownership.start();
    return agent;
  }

  const live = () => agents.filter((a) => a.alive);
  const coveredOnce = () => USERS.every((u) => live().filter((a) => a.watching.has(u)).length === 1);

  it('three agents share the users, each watched exactly once', async () => {
    const wanter = new WatchLeases({ redis: new Redis(server.url), instanceId: 'intake', leaseMs: LEASE_MS });
    await wanter.want(USERS);
    start('agent-1');
    start('agent-2');
    start('agent-3');
    expect(await waitUntil(coveredOnce, 15_000)).toBe(true);
    for (const a of agents) expect(a.watching.size).toBeGreaterThan(100);
    expect(violations).toEqual([]);
  }, 30_000);

  it('an agent that dies without a word: the others take its users after its leases lapse', async () => {
    const victim = agents[1]!;
    const orphaned = victim.watching.size;
    await victim.ownership.stop(false); // like kill -9: no release, no leave
    victim.alive = false;
    victim.redis.disconnect();
    const t0 = Date.now();
    expect(await waitUntil(coveredOnce, LEASE_MS + 10_000)).toBe(true);
    const tookMs = Date.now() - t0;
    console.log(`cluster-watch-ownership: ${orphaned} users of a dead agent watched again after ${tookMs} ms (lease ${LEASE_MS} ms)`);
    expect(tookMs).toBeGreaterThanOrEqual(LEASE_MS - TICK_MS); // not before its leases could lapse
    expect(violations).toEqual([]);
  }, 30_000);

  it('a member that joins takes its share at a bounded rate, never overlapping', async () => {
    const joiner = start('agent-4');
    expect(await waitUntil(() => coveredOnce() && joiner.watching.size > 100, 20_000)).toBe(true);
    expect(joiner.maxAcquiredPerCall).toBeLessThanOrEqual(MAX_MOVES);
    expect(violations).toEqual([]);
  }, 30_000);

  it('an agent paused past its lease drops the dialogs the others took meanwhile', async () => {
    const sleeper = agents[0]!;
    await sleeper.ownership.stop(false); // like SIGSTOP: its dialogs exist but it renews nothing
    sleeper.alive = false;
    const had = sleeper.watching.size;
    const othersCover = () => USERS.every((u) => live().filter((a) => a.watching.has(u)).length === 1);
    expect(await waitUntil(othersCover, LEASE_MS + 10_000)).toBe(true);
    sleeper.alive = true; // SIGCONT: its first renewal finds the leases taken and drops those users
    sleeper.ownership.start();
    expect(await waitUntil(() => sleeper.lost === had, 10_000)).toBe(true);
    expect(await waitUntil(coveredOnce, 10_000)).toBe(true);
    expect(violations).toEqual([]);
  }, 30_000);
});

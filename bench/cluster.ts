/**
 * Cluster mode, in one run and side by side: pushes/s and CPU µs per push for the SQLite single process,
 * one agent on PostgreSQL + Redis, and three agents on PostgreSQL + Redis (same Kamailio, same handset, same
 * users, same PPG sink); then failover times over repeated `kill -9`s of one of three agents under load:
 * kill → the last push it left open is terminal, kill → every watched user is held by a survivor again.
 *
 * Throughput is offered at a fixed total rate split evenly over the agents (runPapStep, one per agent); a
 * push counts when its result notification reaches the sink. CPU per push is the agents' own CPU time over
 * the step divided by the pushes completed; PostgreSQL's and Redis's CPU time are shown next to it.
 */
import { Redis } from 'ioredis';
import pg from 'pg';
import type { Cluster, ClusterAgent } from '../test/support/cluster.js';
import { startCluster } from '../test/support/cluster.js';
import { pushTo, TERMINAL, watchHolders } from '../test/support/cluster-load.js';
import { freePort } from '../test/support/ports.js';
import { fmt, maxOf, minOf, quantile } from './lib/percentiles.js';
import { makePopulation, provision } from './lib/population.js';
import { awaitTerminal, type PushSample, runPapStep } from './lib/pap-load.js';
import { PpgSink } from './lib/ppg-sink.js';
import { cpuSeconds } from './lib/proc-stats.js';
import { table } from './lib/report.js';
import { spawnLoadSipp } from './lib/sipp-load.js';

export interface ClusterBenchPlan {
  users: number;
  /** Fixed total rate for CPU per push (well under every mode's capacity). */
  costRate: number;
  /** Offered total rate for pushes/s (past the single agent's capacity on a small box). */
  loadRate: number;
  stepS: number;
  kills: number;
  leaseMs: number;
}

export const CLUSTER_PLANS: Record<'quick' | 'full', ClusterBenchPlan> = {
  quick: { users: 60, costRate: 60, loadRate: 300, stepS: 5, kills: 3, leaseMs: 3000 },
  full: { users: 200, costRate: 50, loadRate: 200, stepS: 8, kills: 10, leaseMs: 3000 },
};

export interface ModeResult {
  mode: string;
  agents: number;
  costRate: number;
  costOk: number;
  agentCpuUsPerPush: number;
  pgCpuUsPerPush: number;
  redisCpuUsPerPush: number;
  offered: number;
  ok: number;
  achieved: number;
  p50: number;
  p95: number;
}

export interface FailoverResult {
  /** ms from SIGKILL to the last push the victim left open being terminal, per kill. */
  pushesMs: number[];
  /** ms from SIGKILL to every watched user's lease held by a survivor, per kill. */
  watchMs: number[];
  orphans: number[];
}

export interface ClusterBenchResult {
  modes: ModeResult[];
  failover: FailoverResult;
  leaseMs: number;
  tickMs: number;
}

/** Sends one step over `agents` (rate split evenly), waits for the outcomes; CPU from /proc. */
async function step(
  agents: ClusterAgent[],
  cluster: Cluster,
  sink: PpgSink,
  aors: string[],
  rate: number,
  durationS: number,
  prefix: string,
) {
  const pids = agents.map((a) => a.proc.pid);
  const cpu0 = pids.map(cpuSeconds);
  const pg0 = cpuSeconds(cluster.pg.pid);
  const redis0 = cpuSeconds(cluster.redis.pid);
  const parts = await Promise.all(
    agents.map((a, i) =>
      runPapStep({
        url: a.papUrl,
        rate: rate / agents.length,
        durationS,
        aors: aors.filter((_, j) => j % agents.length === i),
        idPrefix: `${prefix}-${a.index}`,
        notifyTo: sink.url('/notify'),
        drainS: 20,
      }),
    ),
  );
  const samples: PushSample[] = parts.flat();
  await awaitTerminal(samples, sink, 30_000);
  const agentCpu = pids.reduce((s, pid, i) => s + cpuSeconds(pid) - (cpu0[i] ?? 0), 0);
  const ok = samples.filter((s) => s.papCode === 1001 && sink.receipts.get(s.pushId)?.messageState === 'delivered');
  const times = ok.map((s) => (sink.receipts.get(s.pushId)?.atMs ?? 0) - s.sentMs);
  const first = minOf(samples.map((s) => s.sentMs));
  const last = maxOf(ok.map((s) => sink.receipts.get(s.pushId)?.atMs ?? 0));
  return {
    sent: samples.length,
    ok: ok.length,
    achieved: ok.length / ((last - first) / 1000),
    agentCpuUs: (agentCpu * 1e6) / Math.max(1, ok.length),
    pgCpuUs: ((cpuSeconds(cluster.pg.pid) - pg0) * 1e6) / Math.max(1, ok.length),
    redisCpuUs: ((cpuSeconds(cluster.redis.pid) - redis0) * 1e6) / Math.max(1, ok.length),
    p50: quantile(times, 0.5),
    p95: quantile(times, 0.95),
  };
}

/** A fresh database on the cluster's server for one mode, so each starts from an empty store. */
async function freshDatabase(cluster: Cluster, name: string): Promise<string> {
  await cluster.db.query(`DROP DATABASE IF EXISTS ${name}`);
  await cluster.db.query(`CREATE DATABASE ${name}`);
  return cluster.pg.url.replace(/\/postgres$/, `/${name}`);
}

async function flushRedis(url: string): Promise<void> {
  const r = new Redis(url, { maxRetriesPerRequest: 1 });
  await r.flushall();
  r.disconnect();
}

async function measureMode(
  cluster: Cluster,
  sink: PpgSink,
  aors: string[],
  plan: ClusterBenchPlan,
  mode: { name: string; agents: number; single: boolean; tag: string },
): Promise<{ result: ModeResult; agents: ClusterAgent[] }> {
  const dbUrl = mode.single ? undefined : await freshDatabase(cluster, `bench_${mode.tag}`);
  if (!mode.single) await flushRedis(cluster.redis.url);
  const agents: ClusterAgent[] = [];
  for (let i = 0; i < mode.agents; i += 1) {
    agents.push(
      await cluster.addAgent({
        instanceId: `${mode.tag}-${i}`,
        single: mode.single,
        config: dbUrl ? { store: { kind: 'postgres', postgres: { url: dbUrl, poolSize: 10 } } } : undefined,
      }),
    );
  }
  // Warm-up: one push per user, so every user is watched and known before anything is timed.
  await step(agents, cluster, sink, aors, Math.min(200, aors.length), Math.max(1, aors.length / 200), `${mode.tag}-warm`);
  const cost = await step(agents, cluster, sink, aors, plan.costRate, plan.stepS, `${mode.tag}-cost`);
  const load = await step(agents, cluster, sink, aors, plan.loadRate, plan.stepS, `${mode.tag}-load`);
  console.log(`bench cluster: ${mode.name}: ${fmt(load.achieved)} pushes/s, ${fmt(cost.agentCpuUs)} µs CPU per push`);
  return {
    agents,
    result: {
      mode: mode.name,
      agents: mode.agents,
      costRate: plan.costRate,
      costOk: cost.ok,
      agentCpuUsPerPush: cost.agentCpuUs,
      pgCpuUsPerPush: mode.single ? Number.NaN : cost.pgCpuUs,
      redisCpuUsPerPush: mode.single ? Number.NaN : cost.redisCpuUs,
      offered: plan.loadRate,
      ok: load.ok,
      achieved: load.achieved,
      p50: load.p50,
      p95: load.p95,
    },
  };
}

/** Repeated SIGKILLs of one of three agents under a bounded background load. */
async function failovers(cluster: Cluster, agents: ClusterAgent[], dbUrl: string, aors: string[], plan: ClusterBenchPlan) {
  const db = new pg.Pool({ connectionString: dbUrl, max: 2 });
  const redis = new Redis(cluster.redis.url, { maxRetriesPerRequest: 1 });
  const out: FailoverResult = { pushesMs: [], watchMs: [], orphans: [] };
  let stop = false;
  let n = 0;
  const users = aors.map((a) => /^sip:([^@]+)@/.exec(a)?.[1] ?? a);
  // Background load: one push at a time per worker to a live agent; a third of them scheduled 2 s ahead,
  // so a killed agent always leaves accepted work behind. Bounded in count and by `stop`.
  const worker = async () => {
    while (!stop && n < 100_000) {
      const i = n++;
      const live = agents.filter((a) => !a.dead);
      const agent = live[i % live.length] as ClusterAgent;
      const later = i % 3 === 0 ? new Date(Date.now() + 2000).toISOString().replace(/\.\d+Z$/, 'Z') : undefined;
      await pushTo(agent, cluster.kamailio, `fo-${i}`, users[i % users.length] as string, later ? { deliverAfter: later } : {});
      await new Promise((r) => setTimeout(r, 30));
    }
  };
  const load = Promise.all([worker(), worker()]);
  try {
    for (let k = 0; k < plan.kills; k += 1) {
      const victim = agents[k % agents.length] as ClusterAgent;
      // Wait (bounded) until the victim holds open pushes and watch leases, so each kill orphans both.
      const ready = async () => {
        const open = await db.query('SELECT count(*)::int AS n FROM pushes WHERE lease_owner = $1 AND state = ANY($2)', [
          victim.instanceId,
          ['accepted', 'delivering', 'handing-back'],
        ]);
        const held = [...(await watchHolders(redis, aors)).values()].filter((h) => h === victim.instanceId).length;
        return (open.rows[0]?.n ?? 0) > 0 && held > 0;
      };
      const deadline = Date.now() + 30_000;
      while (!(await ready()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      await victim.kill();
      const killedAt = Date.now();
      const orphans = (
        await db.query<{ push_id: string }>('SELECT push_id FROM pushes WHERE lease_owner = $1 AND state = ANY($2)', [
          victim.instanceId,
          ['accepted', 'delivering', 'handing-back'],
        ])
      ).rows.map((r) => r.push_id);
      let pushesAt: number | undefined;
      let watchAt: number | undefined;
      const bound = Date.now() + 60_000;
      while ((pushesAt === undefined || watchAt === undefined) && Date.now() < bound) {
        if (pushesAt === undefined) {
          const res = await db.query<{ state: string }>('SELECT state FROM pushes WHERE push_id = ANY($1)', [orphans]);
          if (res.rows.every((r) => TERMINAL.has(r.state))) pushesAt = Date.now();
        }
        if (watchAt === undefined) {
          const holders = [...(await watchHolders(redis, aors)).values()];
          if (holders.every((h) => h !== null && h !== victim.instanceId)) watchAt = Date.now();
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      out.orphans.push(orphans.length);
      out.pushesMs.push(pushesAt === undefined ? Number.NaN : pushesAt - killedAt);
      out.watchMs.push(watchAt === undefined ? Number.NaN : watchAt - killedAt);
      console.log(
        `bench cluster: kill ${k + 1}/${plan.kills} (${victim.instanceId}): ${orphans.length} orphans terminal after ${out.pushesMs.at(-1)} ms, users watched again after ${out.watchMs.at(-1)} ms`,
      );
      await victim.start();
    }
  } finally {
    stop = true;
    await load;
    await db.end();
    redis.disconnect();
  }
  return out;
}

export async function runClusterBench(plan: ClusterBenchPlan): Promise<ClusterBenchResult> {
  const sink = new PpgSink();
  await sink.start();
  const tickMs = Math.floor(plan.leaseMs / 3);
  const cluster = await startCluster({
    agents: 0,
    leaseMs: plan.leaseMs,
    ppg: sink,
    kamailio: { shmMb: 512, children: 4, startTimeoutMs: 20_000 },
    // Load settings: the tests' log level would write a line per push at this rate.
    config: { log: { level: 'warn', pretty: false }, sip: { timers: { t1Ms: 500, t2Ms: 4000, t4Ms: 5000 } } },
  });
  const uasPort = await freePort();
  const uas = spawnLoadSipp({ scenario: 'test/sipp/uas-message.xml', localPort: uasPort, timeoutS: 3600 });
  await uas.ready();
  try {
    const population = makePopulation('cb', plan.users, 0, cluster.kamailio.host);
    await provision(cluster.kamailio, population, { host: '127.0.0.1', port: uasPort });
    const aors = population.users.map((u) => u.aor);
    const modes: ModeResult[] = [];
    const single = await measureMode(cluster, sink, aors, plan, { name: 'SQLite, single process', agents: 1, single: true, tag: 'sqlite' });
    modes.push(single.result);
    await Promise.all(single.agents.map((a) => a.proc.stop()));
    const one = await measureMode(cluster, sink, aors, plan, { name: 'PostgreSQL + Redis', agents: 1, single: false, tag: 'pg1' });
    modes.push(one.result);
    await Promise.all(one.agents.map((a) => a.proc.stop()));
    const three = await measureMode(cluster, sink, aors, plan, { name: 'PostgreSQL + Redis', agents: 3, single: false, tag: 'pg3' });
    modes.push(three.result);
    const failover = await failovers(cluster, three.agents, cluster.pg.url.replace(/\/postgres$/, '/bench_pg3'), aors, plan);
    return { modes, failover, leaseMs: plan.leaseMs, tickMs };
  } finally {
    await uas.stop();
    await cluster.stop();
    await sink.stop();
  }
}

export function clusterTables(r: ClusterBenchResult): { throughput: string; failover: string } {
  const throughput = table(
    [
      'mode',
      'agents',
      `agent CPU µs per push (at ${r.modes[0]?.costRate ?? '?'}/s)`,
      'PostgreSQL CPU µs per push',
      'Redis CPU µs per push',
      'offered /s',
      'delivered',
      'pushes/s achieved',
      'p50 ms',
      'p95 ms',
    ],
    r.modes.map((m) => [
      m.mode,
      m.agents,
      fmt(m.agentCpuUsPerPush),
      fmt(m.pgCpuUsPerPush),
      fmt(m.redisCpuUsPerPush),
      m.offered,
      m.ok,
      fmt(m.achieved),
      fmt(m.p50),
      fmt(m.p95),
    ]),
  );
  const dist = (name: string, values: number[]) => {
    const ok = values.filter(Number.isFinite);
    return [name, `${ok.length}/${values.length}`, fmt(minOf(ok)), fmt(quantile(ok, 0.5)), fmt(quantile(ok, 0.9)), fmt(maxOf(ok))];
  };
  const failover = table(
    ['after kill -9 of one of three agents', 'kills measured', 'min ms', 'median ms', 'p90 ms', 'max ms'],
    [
      dist('last orphaned push terminal', r.failover.pushesMs),
      dist('every watched user held by a survivor', r.failover.watchMs),
      [
        'orphaned open pushes per kill',
        String(r.failover.orphans.length),
        fmt(minOf(r.failover.orphans)),
        fmt(quantile(r.failover.orphans, 0.5)),
        fmt(quantile(r.failover.orphans, 0.9)),
        fmt(maxOf(r.failover.orphans)),
      ],
    ],
  );
  return { throughput, failover };
}

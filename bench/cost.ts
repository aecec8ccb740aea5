/**
 * Experiment: what one push (and one NOTIFY, one watched user) costs, measured, not inferred from rates.
 * Rates on a shared 2-core machine move with the neighbours; CPU time per push does not (much), so this
 * reports costs and ratios only:
 *
 * - agent CPU µs per push at fixed offered rates and at a saturating one (the knee): utime+stime of the
 *   agent process from /proc/<pid>/stat over the step, until every accepted push's outcome reached the
 *   PPG sink, divided by the accepted pushes;
 * - SQL statements and commits per push, counted in the agent by a preload (bench/lib/sql-count.mjs)
 *   that wraps better-sqlite3 — no change to the agent's sources, so an old checkout is measured alike;
 * - bytes written to storage per push (/proc/<pid>/io write_bytes);
 * - agent CPU µs per presence NOTIFY (every user re-PUBLISHes: a NOTIFY wave) and per subscription
 *   (warm-up from ready to all active);
 * - RSS and heap per watched user (growth from ready to all subscribed; heap after a full GC);
 * - Kamailio's CPU µs per relayed MESSAGE in the same steps (its process tree's /proc stat).
 *
 * With two checkouts (`--agent-root OLD,NEW`) the agents run alternately, A B A B, against the same
 * Kamailio, UAS and sink, so both see the same machine.
 */
import { execFileSync } from 'node:child_process';
import { basename } from 'node:path';
import { metricValue, startAgentProcess, type AgentProcess } from './lib/agent-process.js';
import type { BenchEnv } from './lib/bench-env.js';
import { coreCounts, diffCounts } from './lib/core-stats.js';
import { awaitTerminal, runPapStep, type PushSample } from './lib/pap-load.js';
import { fmt } from './lib/percentiles.js';
import { makePopulation, provision, republish, type Population } from './lib/population.js';
import { cpuMicros, writeBytes } from './lib/proc-stats.js';
import { table } from './lib/report.js';
import { diffSql, readSqlCounts, sqlCountNodeArgs, type SqlCounts } from './lib/sql-counts.js';
import { awaitSubscriptions } from './throughput.js';

export interface CostPlan {
  users: number;
  /** Fixed offered rates (pushes/s). */
  rates: number[];
  stepS: number;
  /** A rate above what the agent sustains here: the knee step. */
  kneeRate: number;
  kneeS: number;
  /** A B A B: rounds per checkout. */
  rounds: number;
  /** Seconds of idle measured after the warm-up. */
  idleS: number;
}

export const COST_PLANS: Record<'quick' | 'full', CostPlan> = {
  quick: { users: 1000, rates: [100, 300, 600], stepS: 4, kneeRate: 1200, kneeS: 2, rounds: 2, idleS: 3 },
  full: { users: 1000, rates: [100, 300, 600], stepS: 10, kneeRate: 1500, kneeS: 5, rounds: 2, idleS: 5 },
};

export interface CostStep {
  label: string;
  /** Agent CPU over the step, µs (before the idle share is taken off). */
  cpuUs: number;
  wallS: number;
  offered: number;
  achieved: number;
  accepted: number;
  rejected: number;
  cpuUsPerPush: number;
  sql: SqlCounts;
  diskBytes: number;
  kamailioUsPerMessage: number;
  messages: number;
}

export interface CostRun {
  agent: string;
  round: number;
  steps: CostStep[];
  usPerNotify: number;
  notifies: number;
  /** Agent CPU µs per second of wall time while nothing is offered (timers, refreshes, probes). */
  idleUsPerS: number;
  usPerSubscription: number;
  rssKbPerUser: number;
  heapKbPerUser: number;
}

/** `name@shortsha` of a checkout, for the table. */
export function checkoutLabel(root: string): string {
  try {
    const sha = execFileSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    return `${basename(root)}@${sha}`;
  } catch {
    return basename(root);
  }
}

async function step(
  env: BenchEnv,
  agent: AgentProcess,
  aors: string[],
  rate: number,
  durationS: number,
  label: string,
  idPrefix: string,
  idle: { agentUsPerS: number; kamailioUsPerS: number },
): Promise<CostStep> {
  const kamailioPid = env.kamailio.pid;
  const sql0 = await readSqlCounts(agent.pid);
  const core0 = await coreCounts(env.kamailio);
  const cpu0 = cpuMicros(agent.pid);
  const kcpu0 = cpuMicros(kamailioPid);
  const disk0 = writeBytes(agent.pid);
  const t0 = performance.now();
  const samples: PushSample[] = await runPapStep({
    url: agent.papUrl,
    rate,
    durationS,
    aors,
    idPrefix,
    notifyTo: env.sink.url('/notify'),
    drainS: 30,
  });
  await awaitTerminal(samples, env.sink, 30_000);
  const wallS = (performance.now() - t0) / 1000;
  const cpu = cpuMicros(agent.pid) - cpu0;
  const kcpu = cpuMicros(kamailioPid) - kcpu0;
  const disk = writeBytes(agent.pid) - disk0;
  const core = diffCounts(await coreCounts(env.kamailio), core0);
  const sql = diffSql(await readSqlCounts(agent.pid), sql0);
  const accepted = samples.filter((s) => s.papCode === 1001).length;
  const done = samples.filter((s) => s.papCode === 1001 && env.sink.receipts.has(s.pushId)).length;
  const codes = new Map<string, number>();
  for (const s of samples)
    if (s.papCode !== 1001) codes.set(String(s.papCode ?? s.error), (codes.get(String(s.papCode ?? s.error)) ?? 0) + 1);
  if (codes.size > 0) console.log(`  ${label}: not accepted: ${[...codes].map(([c, n]) => `${c} ×${n}`).join(', ')}`);
  return {
    label,
    cpuUs: cpu,
    wallS,
    offered: rate,
    achieved: done / wallS,
    accepted,
    rejected: samples.length - accepted,
    // What the agent spends anyway over the same wall time is not the pushes' cost.
    cpuUsPerPush: accepted > 0 ? Math.max(0, cpu - idle.agentUsPerS * wallS) / accepted : Number.NaN,
    sql,
    diskBytes: disk,
    kamailioUsPerMessage: core.messageIn > 0 ? Math.max(0, kcpu - idle.kamailioUsPerS * wallS) / core.messageIn : Number.NaN,
    messages: core.messageIn,
  };
}

/** One agent of `root`, every measurement of the table, in a bounded time. */
export async function runCostOnce(
  env: BenchEnv,
  plan: CostPlan,
  population: Population,
  root: string,
  round: number,
  name: string = checkoutLabel(root),
): Promise<CostRun> {
  const aors = population.users.map((u) => u.aor);
  const agent = await startAgentProcess({
    root,
    profile: env.profile(),
    config: {
      sip: { timers: { t1Ms: env.plan.t1Ms, t2Ms: 4000, t4Ms: 5000 } },
      ppg: { handBackUrl: env.sink.url('/handback'), numberBearers: [] },
      capabilityTable: { maxUsers: 1_000_000 },
    },
    watch: aors,
    nodeArgs: sqlCountNodeArgs(),
  });
  try {
    // Warm-up: from ready to every user subscribed with a first NOTIFY.
    const mem0 = await readSqlCounts(agent.pid, { gc: true });
    const wcpu0 = cpuMicros(agent.pid);
    const subs = await awaitSubscriptions(agent, aors.length, 120_000);
    const usPerSubscription = (cpuMicros(agent.pid) - wcpu0) / Math.max(1, subs.active);
    const mem1 = await readSqlCounts(agent.pid, { gc: true });
    // Idle: what the agent burns with nothing offered, taken off every step's CPU.
    const icpu0 = cpuMicros(agent.pid);
    const ikcpu0 = cpuMicros(env.kamailio.pid);
    const it0 = performance.now();
    await new Promise((r) => setTimeout(r, plan.idleS * 1000));
    const idleS = (performance.now() - it0) / 1000;
    const idleUsPerS = (cpuMicros(agent.pid) - icpu0) / idleS;
    const idle = { agentUsPerS: idleUsPerS, kamailioUsPerS: (cpuMicros(env.kamailio.pid) - ikcpu0) / idleS };
    // The NOTIFY wave (before the pushes, so no push backlog shares its window): every user re-PUBLISHes.
    const m0 = await agent.metrics();
    const ncpu0 = cpuMicros(agent.pid);
    const nt0 = performance.now();
    await republish(env.kamailio, population);
    const deadline = Date.now() + 30_000;
    let notifies = 0;
    while (Date.now() < deadline) {
      notifies = metricValue(await agent.metrics(), 'spa_presence_notifies_total') - metricValue(m0, 'spa_presence_notifies_total');
      if (notifies >= aors.length) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const ncpu = Math.max(0, cpuMicros(agent.pid) - ncpu0 - idleUsPerS * ((performance.now() - nt0) / 1000));
    const steps: CostStep[] = [];
    for (const rate of plan.rates) {
      steps.push(await step(env, agent, aors, rate, plan.stepS, `${rate}/s`, `cost-${round}-${name}-r${rate}`, idle));
    }
    steps.push(
      await step(env, agent, aors, plan.kneeRate, plan.kneeS, `knee (${plan.kneeRate}/s offered)`, `cost-${round}-${name}-k`, idle),
    );
    const run: CostRun = {
      agent: name,
      round,
      steps,
      usPerNotify: notifies > 0 ? ncpu / notifies : Number.NaN,
      notifies,
      idleUsPerS,
      usPerSubscription,
      rssKbPerUser: (mem1.rss - mem0.rss) / 1024 / aors.length,
      heapKbPerUser: (mem1.heapUsed - mem0.heapUsed) / 1024 / aors.length,
    };
    for (const s of steps) {
      console.log(
        `  ${name} round ${round} ${s.label}: ${s.accepted} accepted (${s.rejected} not), ${fmt(s.achieved)}/s done, ` +
          `${fmt(s.cpuUsPerPush)} µs/push, ${fmt(s.sql.statements / s.accepted, 1)} SQL/push, ${fmt(s.sql.commit / s.accepted, 2)} commits/push, ` +
          `${fmt(s.diskBytes / s.accepted / 1024, 1)} KB/push, Kamailio ${fmt(s.kamailioUsPerMessage)} µs/MESSAGE`,
      );
    }
    console.log(
      `  ${name} round ${round}: ${fmt(run.usPerNotify)} µs/NOTIFY (${notifies}), ${fmt(usPerSubscription)} µs/subscription, ` +
        `RSS ${fmt(run.rssKbPerUser, 2)} KB/user, heap ${fmt(run.heapKbPerUser, 2)} KB/user`,
    );
    return run;
  } finally {
    await agent.stop();
  }
}

/** Every checkout, alternately (A B A B …), against one provisioned population. */
export async function runCost(env: BenchEnv, plan: CostPlan, roots: string[]): Promise<CostRun[]> {
  const population = makePopulation('c', plan.users, 0, env.kamailio.host);
  if (!env.provisioned.has('c')) await provision(env.kamailio, population, env.uas);
  env.provisioned.add('c');
  // Named once: a checkout whose HEAD moves during the run keeps its row (the sha is the one at the start).
  const names = roots.map(checkoutLabel);
  const runs: CostRun[] = [];
  for (let round = 1; round <= plan.rounds; round++) {
    for (const [i, root] of roots.entries()) runs.push(await runCostOnce(env, plan, population, root, round, names[i]));
  }
  return runs;
}

const meanOf = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const spread = (xs: number[], digits = 0): string =>
  xs.length > 1
    ? `${fmt(meanOf(xs), digits)} (${fmt(Math.min(...xs), digits)}–${fmt(Math.max(...xs), digits)})`
    : fmt(xs[0] ?? NaN, digits);

/** Per checkout and step, the mean over rounds (CPU with its range); the per-user and NOTIFY costs. */
export function costTable(runs: CostRun[]): string {
  const agents = [...new Set(runs.map((r) => r.agent))];
  const rows: (string | number)[][] = [];
  for (const agent of agents) {
    const mine = runs.filter((r) => r.agent === agent);
    const labels = mine[0]?.steps.map((s) => s.label) ?? [];
    for (const label of labels) {
      const steps = mine.map((r) => r.steps.find((s) => s.label === label)).filter((s): s is CostStep => s !== undefined);
      const per = (f: (s: CostStep) => number) => steps.map((s) => f(s) / s.accepted);
      rows.push([
        agent,
        label,
        `${fmt(meanOf(steps.map((s) => s.accepted)))} (${fmt(meanOf(steps.map((s) => s.rejected)))})`,
        fmt(meanOf(steps.map((s) => s.achieved))),
        spread(steps.map((s) => s.cpuUsPerPush)),
        fmt(meanOf(per((s) => s.sql.statements)), 1),
        `${fmt(meanOf(per((s) => s.sql.reads)), 1)} / ${fmt(meanOf(per((s) => s.sql.writes)), 1)}`,
        `${fmt(meanOf(per((s) => s.sql.savepoint)), 1)}`,
        fmt(meanOf(per((s) => s.sql.commit)), 2),
        fmt(meanOf(per((s) => s.diskBytes)) / 1024, 1),
        spread(steps.map((s) => s.kamailioUsPerMessage)),
      ]);
    }
    rows.push([
      agent,
      'per NOTIFY / subscription / user',
      '–',
      '–',
      `NOTIFY ${spread(mine.map((r) => r.usPerNotify))}; subscription ${spread(mine.map((r) => r.usPerSubscription))}; idle ${spread(mine.map((r) => r.idleUsPerS))} µs/s`,
      '–',
      '–',
      '–',
      '–',
      `RSS ${fmt(meanOf(mine.map((r) => r.rssKbPerUser)), 2)} KB/user; heap ${fmt(meanOf(mine.map((r) => r.heapKbPerUser)), 2)} KB/user`,
      '–',
    ]);
  }
  return table(
    [
      'agent',
      'step',
      'pushes accepted (not)',
      'done/s',
      'agent CPU µs per push (range)',
      'SQL statements / push',
      'reads / writes',
      'savepoints / push',
      'commits / push',
      'disk KB written / push',
      'Kamailio CPU µs / MESSAGE',
    ],
    rows,
  );
}

/** new ÷ old agent CPU per push, per step, when two checkouts ran. */
export function costRatios(runs: CostRun[]): string | undefined {
  const agents = [...new Set(runs.map((r) => r.agent))];
  if (agents.length !== 2) return undefined;
  const [a, b] = agents as [string, string];
  const cpu = (agent: string, label: string) =>
    meanOf(runs.filter((r) => r.agent === agent).map((r) => r.steps.find((s) => s.label === label)?.cpuUsPerPush ?? NaN));
  const labels = runs[0]?.steps.map((s) => s.label) ?? [];
  const parts = labels.map((l) => `${l} ${fmt(cpu(b, l) / cpu(a, l), 2)}`);
  const notify = (agent: string) => meanOf(runs.filter((r) => r.agent === agent).map((r) => r.usPerNotify));
  return `CPU per push ${b} ÷ ${a}: ${parts.join(', ')}; per NOTIFY ${fmt(notify(b) / notify(a), 2)}.`;
}

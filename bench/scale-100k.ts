/**
 * Experiment: N watched users (100,000 by default) held by one agent through the real Kamailio, for at
 * least two refresh periods, with pushes flowing at a modest rate meanwhile (`--only scale100k`).
 *
 * - every user PUBLISHes `open` (SIPp, bench/lib/population.ts), so each SUBSCRIBE and each refresh is
 *   answered by a PIDF NOTIFY; the first `registered` users also REGISTER on the UAS and are pushed to;
 * - the agent subscribes to all of them from its watch list (the short `Expires` keeps the refresh
 *   period, 90 % of it, inside a bounded run);
 * - sampled every few seconds: subscriptions active, NOTIFYs handled, SUBSCRIBEs Kamailio received, CPU
 *   of the agent and of Kamailio (per cent of one core), agent RSS; at the end the agent's heap after a
 *   full GC, Kamailio's shared memory in use, and the pushes' outcomes at the PPG sink.
 * Where the limit is follows from the samples: a single-threaded agent near 100 % CPU while
 * subscriptions lag is the agent; Kamailio's tree near its cores, or its SUBSCRIBEs answered late, is
 * the core. Bounded: every wait has a deadline, the whole run stays under `maxMinutes`.
 */
import { metricValue, startAgentProcess, type AgentProcess } from './lib/agent-process.js';
import type { BenchEnv } from './lib/bench-env.js';
import { awaitTerminal, runPapStep, type PushSample } from './lib/pap-load.js';
import { fmt } from './lib/percentiles.js';
import { makePopulation, provisionWatched } from './lib/population.js';
import { cpuSeconds, memoryMb } from './lib/proc-stats.js';
import { table } from './lib/report.js';
import { readSqlCounts, sqlCountNodeArgs } from './lib/sql-counts.js';
import { refreshDelaySeconds } from '../src/sip/subscriber-lifecycle.js';

export interface Scale100kPlan {
  users: number;
  /** Users registered on the UAS and pushed to. */
  registered: number;
  expiresS: number;
  /** Refresh periods held after every user is subscribed. */
  periods: number;
  pushRate: number;
  /** SIPp REGISTER/PUBLISH rate while provisioning. */
  provisionRate: number;
  maxConcurrentSubscribes: number;
  sampleS: number;
  /** The ramp (every user subscribed with its first NOTIFY) gives up after this. */
  rampTimeoutS: number;
}

export const SCALE_100K_PLAN: Scale100kPlan = {
  users: 100_000,
  registered: 2_000,
  expiresS: 120,
  periods: 2,
  pushRate: 20,
  provisionRate: 1_000,
  maxConcurrentSubscribes: 500,
  sampleS: 5,
  rampTimeoutS: 420,
};

export interface ScaleSample {
  phase: 'ramp' | 'hold';
  atS: number;
  active: number;
  /** Users waiting for a SUBSCRIBE slot, or in one. */
  pending: number;
  subscribeFailures: number;
  notifies: number;
  subscribesAtCore: number;
  agentCpuPct: number;
  kamailioCpuPct: number;
  agentRssMb: number;
}

export interface Scale100kResult {
  plan: Scale100kPlan;
  provisionS: number;
  rampS: number;
  /** Users active with a first NOTIFY when the ramp ended (all of them, or the ramp timed out). */
  rampActive: number;
  holdS: number;
  minActiveInHold: number;
  notifiesInHold: number;
  subscribesAtCoreInHold: number;
  agentCpuPctInHold: number;
  kamailioCpuPctInHold: number;
  rampAgentCpuS: number;
  rssMbAfterRamp: number;
  rssMbPeak: number;
  heapMbAfterGc: number;
  rssMbAfterGc: number;
  /** The same right after the agent was ready (its subscriptions just starting): the per-user base. */
  heapMbAtStart: number;
  rssMbAtStart: number;
  kamailioShmUsedMb: number;
  pushes: { offered: number; accepted: number; delivered: number; handedBack: number; other: number };
  samples: ScaleSample[];
}

async function kamailioShmMb(env: BenchEnv): Promise<number> {
  const s = await env.kamailio.stats();
  return (s['shmem:real_used_size'] ?? s['shmem:used_size'] ?? 0) / 1048576;
}

/** One sampler over the agent, its metrics and Kamailio: counters and CPU since the previous call. */
function sampler(env: BenchEnv, agent: AgentProcess, t0: number) {
  let last = { wall: performance.now(), agentCpu: cpuSeconds(agent.pid), kamCpu: cpuSeconds(env.kamailio.pid) };
  return async (phase: ScaleSample['phase']): Promise<ScaleSample> => {
    const m = await agent.metrics();
    const k = await env.kamailio.stats();
    const now = { wall: performance.now(), agentCpu: cpuSeconds(agent.pid), kamCpu: cpuSeconds(env.kamailio.pid) };
    const wallS = Math.max(0.001, (now.wall - last.wall) / 1000);
    const sample: ScaleSample = {
      phase,
      atS: (now.wall - t0) / 1000,
      active: metricValue(m, 'spa_presence_subscriptions', 'state="active"'),
      pending:
        metricValue(m, 'spa_presence_subscriptions', 'state="queued"') +
        metricValue(m, 'spa_presence_subscriptions', 'state="subscribing"'),
      subscribeFailures: metricValue(m, 'spa_presence_subscribe_failures_total'),
      notifies: metricValue(m, 'spa_presence_notifies_total'),
      subscribesAtCore: k['core:rcv_requests_subscribe'] ?? 0,
      agentCpuPct: ((now.agentCpu - last.agentCpu) / wallS) * 100,
      kamailioCpuPct: ((now.kamCpu - last.kamCpu) / wallS) * 100,
      agentRssMb: memoryMb(agent.pid).rssMb,
    };
    last = now;
    return sample;
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runScale100k(env: BenchEnv, plan: Scale100kPlan): Promise<Scale100kResult> {
  const population = makePopulation('w', plan.users, 0, env.kamailio.host);
  const p0 = performance.now();
  await provisionWatched(env.kamailio, population, env.uas, plan.registered, plan.provisionRate);
  const provisionS = (performance.now() - p0) / 1000;
  console.log(`  scale: ${plan.users} users published (${plan.registered} registered) in ${fmt(provisionS)} s`);

  const base = env.profile();
  const agent = await startAgentProcess({
    profile: { ...base, presence: { ...base.presence, expiresSeconds: plan.expiresS } },
    config: {
      ppg: { handBackUrl: env.sink.url('/handback'), numberBearers: [] },
      capabilityTable: { maxUsers: Math.ceil(plan.users * 1.25) },
      presence: { maxConcurrentSubscribes: plan.maxConcurrentSubscribes },
    },
    watch: population.users.map((u) => u.aor),
    nodeArgs: [...sqlCountNodeArgs(), '--max-old-space-size=4096'],
  });
  try {
    const start = await readSqlCounts(agent.pid, { gc: true, timeoutMs: 60_000 });
    const t0 = performance.now();
    const sample = sampler(env, agent, t0);
    const samples: ScaleSample[] = [];
    let rssPeak = 0;
    const take = async (phase: ScaleSample['phase']) => {
      const s = await sample(phase);
      samples.push(s);
      rssPeak = Math.max(rssPeak, s.agentRssMb);
      console.log(
        `  scale ${phase} ${fmt(s.atS)} s: ${s.active} active (${s.pending} pending, ${s.subscribeFailures} failures), ${s.notifies} NOTIFYs, ${s.subscribesAtCore} SUBSCRIBEs at the core, ` +
          `agent ${fmt(s.agentCpuPct)} % CPU ${fmt(s.agentRssMb)} MB, Kamailio ${fmt(s.kamailioCpuPct)} % CPU`,
      );
      return s;
    };

    // Ramp: from ready to every user subscribed with a first NOTIFY (or the ramp deadline).
    const rampCpu0 = cpuSeconds(agent.pid);
    const rampDeadline = t0 + plan.rampTimeoutS * 1000;
    let s = await take('ramp');
    while ((s.active < plan.users || s.notifies < plan.users) && performance.now() < rampDeadline) {
      await sleep(plan.sampleS * 1000);
      s = await take('ramp');
    }
    const rampS = (performance.now() - t0) / 1000;
    const rampActive = Math.min(s.active, s.notifies);
    const rampAgentCpuS = cpuSeconds(agent.pid) - rampCpu0;
    const rssMbAfterRamp = s.agentRssMb;

    // Hold: `periods` refresh periods (plus one sample), pushes flowing to the registered users meanwhile.
    const holdS = plan.periods * refreshDelaySeconds(plan.expiresS) + plan.sampleS;
    const h0 = performance.now();
    const hAgent0 = cpuSeconds(agent.pid);
    const hKam0 = cpuSeconds(env.kamailio.pid);
    const first = s;
    const pushing: Promise<PushSample[]> = runPapStep({
      url: agent.papUrl,
      rate: plan.pushRate,
      durationS: Math.max(1, holdS - 10),
      aors: population.users.slice(0, plan.registered).map((u) => u.aor),
      idPrefix: `scale-${Date.now()}`,
      notifyTo: env.sink.url('/notify'),
      drainS: 30,
    });
    let minActive = s.active;
    while ((performance.now() - h0) / 1000 < holdS) {
      await sleep(plan.sampleS * 1000);
      s = await take('hold');
      minActive = Math.min(minActive, s.active);
    }
    const holdWallS = (performance.now() - h0) / 1000;
    const agentCpuPctInHold = ((cpuSeconds(agent.pid) - hAgent0) / holdWallS) * 100;
    const kamailioCpuPctInHold = ((cpuSeconds(env.kamailio.pid) - hKam0) / holdWallS) * 100;
    const pushSamples = await pushing;
    await awaitTerminal(pushSamples, env.sink, 30_000);
    const accepted = pushSamples.filter((p) => p.papCode === 1001);
    const states = accepted.map((p) => env.sink.receipts.get(p.pushId));
    const delivered = states.filter((r) => r?.path === '/notify' && r.messageState === 'delivered').length;
    const handedBack = states.filter((r) => r?.path === '/handback').length;

    const mem = await readSqlCounts(agent.pid, { gc: true, timeoutMs: 60_000 });
    return {
      plan,
      provisionS,
      rampS,
      rampActive,
      holdS: holdWallS,
      minActiveInHold: minActive,
      notifiesInHold: s.notifies - first.notifies,
      subscribesAtCoreInHold: s.subscribesAtCore - first.subscribesAtCore,
      agentCpuPctInHold,
      kamailioCpuPctInHold,
      rampAgentCpuS,
      rssMbAfterRamp,
      rssMbPeak: rssPeak,
      heapMbAfterGc: mem.heapUsed / 1048576,
      rssMbAfterGc: mem.rss / 1048576,
      heapMbAtStart: start.heapUsed / 1048576,
      rssMbAtStart: start.rss / 1048576,
      kamailioShmUsedMb: await kamailioShmMb(env),
      pushes: {
        offered: pushSamples.length,
        accepted: accepted.length,
        delivered,
        handedBack,
        other: accepted.length - delivered - handedBack,
      },
      samples,
    };
  } finally {
    await agent.stop();
  }
}

export function scale100kTable(r: Scale100kResult): string {
  const perUser = (mb: number) => fmt((mb * 1048576) / Math.max(1, r.minActiveInHold));
  return table(
    ['measure', 'value'],
    [
      ['users watched (published open; registered and pushed to)', `${r.plan.users} (${r.plan.registered})`],
      ['Expires asked / refresh period', `${r.plan.expiresS} s / ${refreshDelaySeconds(r.plan.expiresS)} s`],
      ['provisioning (SIPp REGISTER + PUBLISH)', `${fmt(r.provisionS)} s`],
      ['ramp: subscribed with a first NOTIFY', `${r.rampActive} in ${fmt(r.rampS)} s (${fmt(r.rampActive / r.rampS)}/s)`],
      ['ramp: agent CPU per subscription', `${fmt((r.rampAgentCpuS * 1e6) / Math.max(1, r.rampActive))} µs`],
      ['hold: wall time, fewest subscriptions active', `${fmt(r.holdS)} s, ${r.minActiveInHold}`],
      [
        'hold: NOTIFYs handled, SUBSCRIBEs at the core',
        `${r.notifiesInHold} (${fmt(r.notifiesInHold / r.holdS)}/s), ${r.subscribesAtCoreInHold} (${fmt(r.subscribesAtCoreInHold / r.holdS)}/s)`,
      ],
      ['hold: CPU, agent / Kamailio (% of one core)', `${fmt(r.agentCpuPctInHold)} % / ${fmt(r.kamailioCpuPctInHold)} %`],
      [
        'hold: agent CPU per refresh (SUBSCRIBE + its NOTIFY)',
        `${fmt(((r.agentCpuPctInHold / 100) * r.holdS * 1e6) / Math.max(1, r.notifiesInHold))} µs`,
      ],
      ['agent RSS after ramp / peak', `${fmt(r.rssMbAfterRamp)} MB / ${fmt(r.rssMbPeak)} MB`],
      [
        'agent heap / RSS after a full GC: at ready → at the end (growth per user held)',
        `${fmt(r.heapMbAtStart)} → ${fmt(r.heapMbAfterGc)} MB (${perUser(r.heapMbAfterGc - r.heapMbAtStart)} B) / ` +
          `${fmt(r.rssMbAtStart)} → ${fmt(r.rssMbAfterGc)} MB (${perUser(r.rssMbAfterGc - r.rssMbAtStart)} B)`,
      ],
      ['Kamailio shared memory in use at the end', `${fmt(r.kamailioShmUsedMb)} MB`],
      [
        `pushes at ${r.plan.pushRate}/s: offered / accepted / delivered / handed back / other`,
        `${r.pushes.offered} / ${r.pushes.accepted} / ${r.pushes.delivered} / ${r.pushes.handedBack} / ${r.pushes.other}`,
      ],
    ],
  );
}

export function scale100kTimeline(r: Scale100kResult): string {
  return table(
    [
      'phase',
      't s',
      'active',
      'pending',
      'SUBSCRIBE failures',
      'NOTIFYs',
      'SUBSCRIBEs at core',
      'agent CPU %',
      'Kamailio CPU %',
      'agent RSS MB',
    ],
    r.samples.map((s) => [
      s.phase,
      fmt(s.atS),
      s.active,
      s.pending,
      s.subscribeFailures,
      s.notifies,
      s.subscribesAtCore,
      fmt(s.agentCpuPct),
      fmt(s.kamailioCpuPct),
      fmt(s.agentRssMb),
    ]),
  );
}

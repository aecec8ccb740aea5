/**
 * Experiment 1: end-to-end pushes/s against the SIP core's own relay rate. Every user is SIP-reachable
 * (registered on the UAS, presence open, subscribed at agent start); the agent runs in its own process
 * and PAP pushes arrive at stepped rates. Latency: PAP request sent → PAP result notification received
 * by the PPG sink (the agent sends it right after the SIP 200, through its outbox).
 */
import { metricValue, startAgentProcess, type AgentProcess } from './lib/agent-process.js';
import type { BenchEnv } from './lib/bench-env.js';
import { fmt, maxOf, minOf, quantile } from './lib/percentiles.js';
import { makePopulation, provision } from './lib/population.js';
import { awaitTerminal, runPapStep, succeeded, terminalMs } from './lib/pap-load.js';
import { cpuMeter, memoryMb, selfCpuMeter } from './lib/proc-stats.js';
import { table } from './lib/report.js';

export interface StepResult {
  engine: string;
  offered: number;
  sent: number;
  ok: number;
  failures: number;
  achieved: number;
  papP50: number;
  p50: number;
  p95: number;
  p99: number;
  cpu: number;
  /** The bench process itself (PAP generator + PPG sink), same 2 cores. */
  generatorCpu: number;
  rssMb: number;
  peakRssMb: number;
  overloaded: number;
}

export interface ThroughputResult {
  steps: StepResult[];
  sustained: number;
  subscriptions: { users: number; active: number; seconds: number; notifiesPerS: number; rssBeforeMb: number; rssAfterMb: number };
}

/** DRACHTIO_HOST / DRACHTIO_PORT / DRACHTIO_SECRET, or undefined when no drachtio server is given. */
export function drachtioFromEnv(): { host: string; port: number; secret: string } | undefined {
  const host = process.env.DRACHTIO_HOST;
  if (!host) return undefined;
  return { host, port: Number(process.env.DRACHTIO_PORT ?? 9022), secret: process.env.DRACHTIO_SECRET ?? 'cymru' };
}

/** Waits (bounded) until the agent holds `count` active subscriptions with a NOTIFY each. */
export async function awaitSubscriptions(
  agent: AgentProcess,
  count: number,
  timeoutMs: number,
): Promise<{ active: number; notifies: number }> {
  const deadline = Date.now() + timeoutMs;
  let active = 0;
  let notifies = 0;
  while (Date.now() < deadline) {
    const m = await agent.metrics();
    active = metricValue(m, 'spa_presence_subscriptions', 'state="active"');
    notifies = metricValue(m, 'spa_presence_notifies_total');
    if (active >= count && notifies >= count) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  return { active, notifies };
}

/** The all-reachable population the throughput and overload parts share: provisioned once per run. */
export async function throughputPopulation(env: BenchEnv): Promise<string[]> {
  const population = makePopulation('t', env.plan.throughputUsers, 0, env.kamailio.host);
  if (!env.provisioned.has('t')) await provision(env.kamailio, population, env.uas);
  env.provisioned.add('t');
  return population.users.map((u) => u.aor);
}

export async function runThroughput(
  env: BenchEnv,
  engine: 'embedded' | 'drachtio',
  sync: 'FULL' | 'NORMAL',
  cpuProfileDir?: string,
): Promise<ThroughputResult> {
  const label = `${engine}, store ${sync}`;
  const { plan, sink } = env;
  const aors = await throughputPopulation(env);
  const agent = await startAgentProcess({
    profile: env.profile(),
    config: {
      sip: {
        engine,
        timers: { t1Ms: plan.t1Ms, t2Ms: 4000, t4Ms: 5000 },
        ...(engine === 'drachtio' ? { drachtio: drachtioFromEnv() } : {}),
      },
      ppg: { handBackUrl: sink.url('/handback'), numberBearers: [] },
      capabilityTable: { maxUsers: 1_000_000 },
      store: { synchronous: sync },
    },
    watch: aors,
    cpuProfileDir,
  });
  try {
    const rssBefore = memoryMb(agent.pid).rssMb;
    const t0 = performance.now();
    const subs = await awaitSubscriptions(agent, aors.length, 120_000);
    const seconds = (performance.now() - t0) / 1000;
    const subscriptions = {
      users: aors.length,
      active: subs.active,
      seconds,
      notifiesPerS: subs.notifies / seconds,
      rssBeforeMb: rssBefore,
      rssAfterMb: memoryMb(agent.pid).rssMb,
    };
    const steps: StepResult[] = [];
    for (const rate of plan.rates) {
      const before = await agent.metrics();
      const cpu = cpuMeter(agent.pid);
      const benchCpu = selfCpuMeter();
      const samples = await runPapStep({
        url: agent.papUrl,
        rate,
        durationS: plan.stepS,
        aors,
        idPrefix: `${engine}-${sync}-r${rate}`,
        notifyTo: sink.url('/notify'),
      });
      await awaitTerminal(samples, sink, 15_000);
      const cpuPercent = cpu.percent();
      const generatorCpu = benchCpu.percent();
      const after = await agent.metrics();
      const ok = samples.filter((s) => succeeded(s, sink));
      const times = ok.map((s) => terminalMs(s, sink) as number);
      const first = minOf(samples.map((s) => s.sentMs));
      const last = maxOf(ok.map((s) => s.sentMs + (terminalMs(s, sink) ?? 0)));
      const mem = memoryMb(agent.pid);
      const result: StepResult = {
        engine: label,
        offered: rate,
        sent: samples.length,
        ok: ok.length,
        failures: samples.length - ok.length,
        achieved: ok.length / ((last - first) / 1000),
        papP50: quantile(
          ok.map((s) => s.papMs ?? NaN),
          0.5,
        ),
        p50: quantile(times, 0.5),
        p95: quantile(times, 0.95),
        p99: quantile(times, 0.99),
        cpu: cpuPercent,
        generatorCpu,
        rssMb: mem.rssMb,
        peakRssMb: mem.peakRssMb,
        overloaded:
          metricValue(after, 'spa_pushes_total', 'outcome="rejected",reason="overloaded"') -
          metricValue(before, 'spa_pushes_total', 'outcome="rejected",reason="overloaded"'),
      };
      steps.push(result);
      console.log(
        `  ${label} ${rate}/s: ok ${result.ok}/${result.sent}, achieved ${fmt(result.achieved)}/s, p50 ${fmt(result.p50, 1)} ms, p99 ${fmt(result.p99, 1)} ms, cpu ${fmt(result.cpu)} %, generator ${fmt(generatorCpu)} %`,
      );
      if (result.failures / result.sent >= 0.01 || result.achieved < rate * 0.9) break;
    }
    const good = steps.filter((s) => s.failures / s.sent < 0.01 && s.achieved >= s.offered * 0.9);
    return { steps, sustained: Math.max(0, ...good.map((s) => s.achieved)), subscriptions };
  } finally {
    await agent.stop();
  }
}

export function throughputTable(steps: StepResult[]): string {
  return table(
    [
      'engine',
      'offered/s',
      'pushes',
      'failures',
      'achieved/s',
      'PAP answer p50 ms',
      'e2e p50 ms',
      'e2e p95 ms',
      'e2e p99 ms',
      'agent CPU % (1 core = 100)',
      'generator+sink CPU %',
      'agent RSS MB (peak)',
      'PAP 4001',
    ],
    steps.map((s) => [
      s.engine,
      s.offered,
      s.sent,
      s.failures,
      fmt(s.achieved),
      fmt(s.papP50, 1),
      fmt(s.p50, 1),
      fmt(s.p95, 1),
      fmt(s.p99, 1),
      fmt(s.cpu),
      fmt(s.generatorCpu),
      `${fmt(s.rssMb)} (${fmt(s.peakRssMb)})`,
      s.overloaded,
    ]),
  );
}

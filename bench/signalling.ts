/**
 * Experiment 2, the signalling claim: populations with 0/25/50/75 % SIP-unreachable users (presence
 * `closed`, not registered), one push per user, `always-sip` against the decision by capability source:
 * presence, reg (the registration state, Event: reg) and both. Core messages are Kamailio statistics
 * deltas over the push window only; the warm-up (SUBSCRIBE, NOTIFY and their 200s, at agent start from
 * the watch list) is measured in its own window and reported apart, with the NOTIFYs/s it took.
 */
import { readFileSync } from 'node:fs';
import { metricValue, startAgentProcess } from './lib/agent-process.js';
import type { BenchEnv } from './lib/bench-env.js';
import { coreCounts, diffCounts } from './lib/core-stats.js';
import { fmt, mean, quantile } from './lib/percentiles.js';
import { makePopulation, provision } from './lib/population.js';
import { awaitTerminal, runPapStep, succeeded, terminalMs } from './lib/pap-load.js';
import { table } from './lib/report.js';
import { parseReginfo } from '../src/registration/reginfo-parser.js';
import { applyReginfo, type RegistrationView } from '../src/registration/registration-sequence.js';
import { repoPath } from '../test/support/repo-paths.js';
import type { AgentProcess } from './lib/agent-process.js';

export type Policy = 'presence-aware' | 'always-sip';
type Source = 'presence' | 'reg';

/** The rows of one population: the naive baseline, then each capability source and both. */
const VARIANTS: Array<{ policy: Policy; sources: Source[] }> = [
  { policy: 'always-sip', sources: ['presence'] },
  { policy: 'presence-aware', sources: ['presence'] },
  { policy: 'presence-aware', sources: ['reg'] },
  { policy: 'presence-aware', sources: ['presence', 'reg'] },
];

const label = (policy: Policy, sources: Source[]): string => (policy === 'always-sip' ? 'always-sip' : sources.join('+'));

export interface SignallingRow {
  unreachable: number;
  policy: Policy;
  sources: Source[];
  pushes: number;
  coreMsgsPerPush: number;
  messagesPerPush: number;
  wastedMessages: number;
  successRate: number;
  meanMs: number;
  p99Ms: number;
  warmupMsgsPerUser: number;
  /** NOTIFYs received per second during the warm-up (every source). */
  warmupNotifiesPerS: number;
}

/** Waits until every source of the agent has an active subscription and a NOTIFY per user. */
async function awaitSources(agent: AgentProcess, sources: Source[], count: number, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = await agent.metrics();
    const counts = sources.map((s) => ({
      active: metricValue(m, `spa_${s}_subscriptions`, 'state="active"'),
      notifies: metricValue(m, `spa_${s}_notifies_total`),
    }));
    const total = counts.reduce((sum, c) => sum + c.notifies, 0);
    if (counts.every((c) => c.active >= count && c.notifies >= count) || Date.now() > deadline) return total;
    await new Promise((r) => setTimeout(r, 200));
  }
}

export async function runSignalling(env: BenchEnv): Promise<SignallingRow[]> {
  const { plan, kamailio, sink } = env;
  const rows: SignallingRow[] = [];
  for (const share of plan.unreachableShares) {
    const population = makePopulation(`s${Math.round(share * 100)}u`, plan.signallingUsers, share, kamailio.host);
    await provision(kamailio, population, env.uas);
    const aors = population.users.map((u) => u.aor);
    const unreachable = new Set(population.unreachable.map((u) => u.aor));
    for (const { policy, sources } of VARIANTS) {
      const warmBefore = await coreCounts(kamailio);
      const warmStart = performance.now();
      const agent = await startAgentProcess({
        profile: { ...env.profile(), sources },
        config: {
          policy,
          sip: { timers: { t1Ms: plan.t1Ms, t2Ms: 4000, t4Ms: 5000 } },
          ppg: { handBackUrl: sink.url('/handback'), backoff: { baseMs: 50, maxMs: 1000 }, numberBearers: [] },
        },
        watch: policy === 'presence-aware' ? aors : undefined,
      });
      try {
        const warmNotifies = policy === 'presence-aware' ? await awaitSources(agent, sources, aors.length, 120_000) : 0;
        const warmSeconds = (performance.now() - warmStart) / 1000;
        await new Promise((r) => setTimeout(r, 500));
        const before = await coreCounts(kamailio);
        const warm = diffCounts(before, warmBefore);
        const m0 = await agent.metrics();
        const samples = await runPapStep({
          url: agent.papUrl,
          rate: plan.signallingRate,
          durationS: aors.length / plan.signallingRate,
          aors,
          idPrefix: `sig-${label(policy, sources)}-${Math.round(share * 100)}`,
          notifyTo: sink.url('/notify'),
        });
        await awaitTerminal(samples, sink, 30_000);
        await new Promise((r) => setTimeout(r, 500)); // let late retransmissions land in the window
        const delta = diffCounts(await coreCounts(kamailio), before);
        const m1 = await agent.metrics();
        const sent = metricValue(m1, 'spa_sip_messages_sent_total') - metricValue(m0, 'spa_sip_messages_sent_total');
        const wasted = samples.filter((s) => unreachable.has(s.aor) && s.papCode === 1001).length;
        const times = samples.map((s) => terminalMs(s, sink)).filter((t): t is number => t !== undefined);
        const row: SignallingRow = {
          unreachable: share,
          policy,
          sources,
          pushes: samples.length,
          coreMsgsPerPush: delta.total / samples.length,
          messagesPerPush: sent / samples.length,
          wastedMessages: wasted,
          successRate: samples.filter((s) => succeeded(s, sink)).length / samples.length,
          meanMs: mean(times),
          p99Ms: quantile(times, 0.99),
          warmupMsgsPerUser: policy === 'presence-aware' ? warm.total / aors.length : 0,
          warmupNotifiesPerS: warmNotifies / warmSeconds,
        };
        rows.push(row);
        console.log(
          `  ${fmt(share * 100)} % unreachable, ${label(policy, sources)}: ${fmt(row.coreMsgsPerPush, 2)} core msgs/push, wasted ${wasted}, success ${fmt(row.successRate * 100, 1)} %, mean ${fmt(row.meanMs, 1)} ms`,
        );
      } finally {
        await agent.stop();
      }
    }
  }
  return rows;
}

export function signallingTable(rows: SignallingRow[]): string {
  return table(
    [
      'unreachable',
      'decision',
      'pushes',
      'core SIP msgs / push',
      'MESSAGE / push',
      'wasted MESSAGEs',
      'success',
      'mean to outcome ms',
      'p99 to outcome ms',
      'warm-up msgs / user (apart)',
      'warm-up NOTIFY/s',
    ],
    rows.map((r) => [
      `${fmt(r.unreachable * 100)} %`,
      label(r.policy, r.sources),
      r.pushes,
      fmt(r.coreMsgsPerPush, 2),
      fmt(r.messagesPerPush, 2),
      r.wastedMessages,
      `${fmt(r.successRate * 100, 1)} %`,
      fmt(r.meanMs, 1),
      fmt(r.p99Ms, 1),
      r.policy === 'presence-aware' ? fmt(r.warmupMsgsPerUser, 2) : '–',
      r.policy === 'presence-aware' ? fmt(r.warmupNotifiesPerS, 0) : '–',
    ]),
  );
}

/**
 * reg NOTIFY bodies parsed and applied in-process (parseReginfo + applyReginfo on the recorded Kamailio
 * two-contact document), after a warm-up, for at most `maxMs`: per second of wall time and per second
 * of this process's CPU time (the latter holds on a busy machine too).
 */
export function regParseRate(maxMs = 2000, maxDocs = 200_000): { docs: number; perS: number; perCpuS: number; bytes: number } {
  const body = readFileSync(repoPath('test/fixtures/reginfo/kamailio-5.6-two-contacts.xml'));
  let view: RegistrationView | undefined;
  const step = (cseq: number): void => {
    const out = applyReginfo(view, parseReginfo(body, 'application/reginfo+xml'), cseq);
    if (out.kind === 'applied') view = out.view;
  };
  for (let i = 1; i <= 300; i++) step(i); // JIT warm-up
  const start = performance.now();
  const cpu0 = process.cpuUsage();
  let docs = 0;
  while (docs < maxDocs && performance.now() - start < maxMs) step(1000 + ++docs);
  const cpu = process.cpuUsage(cpu0);
  const cpuS = (cpu.user + cpu.system) / 1e6;
  return { docs, perS: docs / ((performance.now() - start) / 1000), perCpuS: docs / cpuS, bytes: body.length };
}

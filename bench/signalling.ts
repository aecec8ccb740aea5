/**
 * Experiment 2, the signalling claim: populations with 0/25/50/75 % SIP-unreachable users (presence
 * `closed`, not registered), one push per user, `presence-aware` against `always-sip`. Core messages
 * are Kamailio statistics deltas over the push window only; the presence warm-up (SUBSCRIBE, NOTIFY
 * and their 200s, at agent start from the watch list) is measured in its own window and reported apart.
 */
import { metricValue, startAgentProcess } from './lib/agent-process.js';
import type { BenchEnv } from './lib/bench-env.js';
import { coreCounts, diffCounts } from './lib/core-stats.js';
import { fmt, mean, quantile } from './lib/percentiles.js';
import { makePopulation, provision } from './lib/population.js';
import { awaitTerminal, runPapStep, succeeded, terminalMs } from './lib/pap-load.js';
import { table } from './lib/report.js';
import { awaitSubscriptions } from './throughput.js';

export type Policy = 'presence-aware' | 'always-sip';

export interface SignallingRow {
  unreachable: number;
  policy: Policy;
  pushes: number;
  coreMsgsPerPush: number;
  messagesPerPush: number;
  wastedMessages: number;
  successRate: number;
  meanMs: number;
  p99Ms: number;
  warmupMsgsPerUser: number;
}

export async function runSignalling(env: BenchEnv): Promise<SignallingRow[]> {
  const { plan, kamailio, sink } = env;
  const rows: SignallingRow[] = [];
  for (const share of plan.unreachableShares) {
    const population = makePopulation(`s${Math.round(share * 100)}u`, plan.signallingUsers, share, kamailio.host);
    await provision(kamailio, population, env.uas);
    const aors = population.users.map((u) => u.aor);
    const unreachable = new Set(population.unreachable.map((u) => u.aor));
    for (const policy of ['always-sip', 'presence-aware'] as const) {
      const warmBefore = await coreCounts(kamailio);
      const agent = await startAgentProcess({
        profile: env.profile(),
        config: {
          policy,
          sip: { timers: { t1Ms: plan.t1Ms, t2Ms: 4000, t4Ms: 5000 } },
          ppg: { handBackUrl: sink.url('/handback'), backoff: { baseMs: 50, maxMs: 1000 } },
        },
        watch: policy === 'presence-aware' ? aors : undefined,
      });
      try {
        if (policy === 'presence-aware') await awaitSubscriptions(agent, aors.length, 120_000);
        await new Promise((r) => setTimeout(r, 500));
        const before = await coreCounts(kamailio);
        const warm = diffCounts(before, warmBefore);
        const m0 = await agent.metrics();
        const samples = await runPapStep({
          url: agent.papUrl,
          rate: plan.signallingRate,
          durationS: aors.length / plan.signallingRate,
          aors,
          idPrefix: `sig-${policy}-${Math.round(share * 100)}`,
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
          pushes: samples.length,
          coreMsgsPerPush: delta.total / samples.length,
          messagesPerPush: sent / samples.length,
          wastedMessages: wasted,
          successRate: samples.filter((s) => succeeded(s, sink)).length / samples.length,
          meanMs: mean(times),
          p99Ms: quantile(times, 0.99),
          warmupMsgsPerUser: policy === 'presence-aware' ? warm.total / aors.length : 0,
        };
        rows.push(row);
        console.log(`  ${fmt(share * 100)} % unreachable, ${policy}: ${fmt(row.coreMsgsPerPush, 2)} core msgs/push, wasted ${wasted}, success ${fmt(row.successRate * 100, 1)} %, mean ${fmt(row.meanMs, 1)} ms`);
      } finally {
        await agent.stop();
      }
    }
  }
  return rows;
}

export function signallingTable(rows: SignallingRow[]): string {
  return table(
    ['unreachable', 'policy', 'pushes', 'core SIP msgs / push', 'MESSAGE / push', 'wasted MESSAGEs', 'success', 'mean to outcome ms', 'p99 to outcome ms', 'warm-up msgs / user (apart)'],
    rows.map((r) => [
      `${fmt(r.unreachable * 100)} %`,
      r.policy,
      r.pushes,
      fmt(r.coreMsgsPerPush, 2),
      fmt(r.messagesPerPush, 2),
      r.wastedMessages,
      `${fmt(r.successRate * 100, 1)} %`,
      fmt(r.meanMs, 1),
      fmt(r.p99Ms, 1),
      r.policy === 'presence-aware' ? fmt(r.warmupMsgsPerUser, 2) : '–',
    ]),
  );
}

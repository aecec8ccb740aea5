/**
 * Overload: PAP pushes at 10× the sustainable rate for a bounded time against the agent
 * with its default limits (`limits.maxInFlight`, `limits.maxQueued`). Reports the share answered PAP 4001
 * and how fast those answers came, pushes accepted/s, and the agent's RSS (and queue depth) once a
 * second from before the load until the accepted pushes are done, to show memory stays bounded.
 */
import { metricValue, startAgentProcess } from './lib/agent-process.js';
import type { BenchEnv } from './lib/bench-env.js';
import { awaitTerminal, runPapStep, type PushSample } from './lib/pap-load.js';
import { fmt, maxOf, quantile } from './lib/percentiles.js';
import { cpuMeter, memoryMb, selfCpuMeter } from './lib/proc-stats.js';
import { table } from './lib/report.js';
import { lineChart } from './lib/svg-chart.js';
import { awaitSubscriptions, throughputPopulation } from './throughput.js';

export interface RssSample {
  /** Seconds since the load started (negative: before). */
  t: number;
  rssMb: number;
  /** V8 heap in use / reserved, and memory outside it (Buffers, ArrayBuffers), from the agent's /metrics. */
  heapUsedMb: number;
  heapTotalMb: number;
  externalMb: number;
  queued: number;
  inFlight: number;
}

export interface OverloadResult {
  sustained: number;
  offered: number;
  durationS: number;
  sent: number;
  /** Pushes per second the generator actually sent (it shares the 2 cores). */
  sentPerS: number;
  accepted: number;
  overloaded: number;
  other: number;
  /** Answers other than 1001/4001, by PAP code (or HTTP status), e.g. `2000×3`. */
  otherCodes: string;
  unanswered: number;
  acceptedPerS: number;
  /** 4001 answers: request sent → answer, and connection assigned → answer (the agent's own time). */
  p4001: { p50: number; p99: number; atAgentP50: number; atAgentP99: number };
  p1001: { p50: number; p99: number };
  delivered: number;
  /** Accepted, then handed back after a SIP failure (a /handback POST). */
  handedBack: number;
  /** Agent counters over the load: client transactions timed out; SIP final responses by status. */
  sipTimeouts: number;
  sipResponses: string;
  /** Seconds from the end of sending until every accepted push had its result notification. */
  drainS: number;
  agentCpu: number;
  generatorCpu: number;
  rssBeforeMb: number;
  rssPeakMb: number;
  rssEndMb: number;
  queuedPeak: number;
  timeline: RssSample[];
}

const ms = (samples: PushSample[], pick: (s: PushSample) => number | undefined) =>
  samples.map(pick).filter((v): v is number => v !== undefined);

export async function runOverload(env: BenchEnv, sustained: number): Promise<OverloadResult> {
  const snapAt = (process.env.SPA_BENCH_HEAPSNAP_AT ?? '').split(',').filter(Boolean).map(Number);
  const { plan, sink } = env;
  const aors = await throughputPopulation(env);
  const agent = await startAgentProcess({
    profile: env.profile(),
    config: {
      sip: { timers: { t1Ms: plan.t1Ms, t2Ms: 4000, t4Ms: 5000 } },
      ppg: { handBackUrl: sink.url('/handback'), numberBearers: [] },
      capabilityTable: { maxUsers: 1_000_000 },
    },
    watch: aors,
    // Diagnostics: SPA_BENCH_HEAPSNAP_AT="8,40" writes a V8 heap snapshot at those seconds after the load
    // started into SPA_BENCH_HEAPSNAP_DIR (each snapshot pauses the agent for seconds and inflates RSS).
    nodeArgs: snapAt.length ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${process.env.SPA_BENCH_HEAPSNAP_DIR ?? '/tmp'}`] : [],
  });
  const timeline: RssSample[] = [];
  let sampler: NodeJS.Timeout | undefined;
  try {
    await awaitSubscriptions(agent, aors.length, 120_000);
    const offered = sustained * 10;
    let loadStart = performance.now() + 2000;
    let sampling = false;
    const sample = async () => {
      if (sampling) return;
      sampling = true;
      const t = (performance.now() - loadStart) / 1000;
      if (snapAt.length && t >= (snapAt[0] as number)) {
        snapAt.shift();
        process.kill(agent.pid, 'SIGUSR2');
      }
      const rssMb = memoryMb(agent.pid).rssMb;
      const m = await agent.metrics().catch(() => undefined);
      const mb = (name: string) => (m ? metricValue(m, name) / 2 ** 20 : NaN);
      timeline.push({
        t,
        rssMb,
        heapUsedMb: mb('spa_nodejs_heap_size_used_bytes'),
        heapTotalMb: mb('spa_nodejs_heap_size_total_bytes'),
        externalMb: mb('spa_nodejs_external_memory_bytes'),
        queued: m ? metricValue(m, 'spa_push_queue', 'kind="queued"') : NaN,
        inFlight: m ? metricValue(m, 'spa_push_queue', 'kind="in-flight"') : NaN,
      });
      sampling = false;
    };
    sampler = setInterval(() => void sample(), 1000);
    await new Promise((r) => setTimeout(r, 2000));
    const rssBeforeMb = memoryMb(agent.pid).rssMb;
    const cpu = cpuMeter(agent.pid);
    const benchCpu = selfCpuMeter();
    const m0 = await agent.metrics();
    loadStart = performance.now();
    const samples = await runPapStep({
      url: agent.papUrl,
      rate: offered,
      durationS: plan.overloadS,
      aors,
      idPrefix: `overload-${offered}`,
      notifyTo: sink.url('/notify'),
      drainS: 30,
    });
    const sendEnd = maxOf(samples.map((s) => s.sentMs + (s.papMs ?? 0)));
    const agentCpu = cpu.percent();
    const generatorCpu = benchCpu.percent();
    await awaitTerminal(samples, sink, 120_000);
    const accepted = samples.filter((s) => s.papCode === 1001);
    const m1 = await agent.metrics();
    const delta = (name: string, labels = '') => metricValue(m1, name, labels) - metricValue(m0, name, labels);
    const statuses = [...m1.keys()].filter((k) => k.startsWith('spa_sip_responses_received_total{'));
    const sipResponses = statuses
      .map((k) => [/status="(\d+)"/.exec(k)?.[1] ?? '?', (m1.get(k) ?? 0) - (m0.get(k) ?? 0)] as const)
      .filter(([, n]) => n > 0)
      .map(([code, n]) => `${code}×${n}`)
      .join(', ');
    const lastReceipt = Math.max(sendEnd, maxOf(accepted.map((s) => sink.receipts.get(s.pushId)?.atMs ?? 0)));
    await new Promise((r) => setTimeout(r, 3000)); // RSS after the load, settled
    await sample();
    clearInterval(sampler);
    sampler = undefined;
    const refused = samples.filter((s) => s.papCode === 4001);
    const others = samples.filter((s) => s.papCode !== undefined && s.papCode !== 1001 && s.papCode !== 4001);
    const windowS = (sendEnd - loadStart) / 1000;
    const lastSent = maxOf(samples.map((s) => s.sentMs));
    const during = timeline.filter((s) => s.t >= 0);
    return {
      sustained,
      offered,
      durationS: plan.overloadS,
      sent: samples.length,
      sentPerS: samples.length / ((lastSent - loadStart) / 1000),
      accepted: accepted.length,
      overloaded: refused.length,
      other: others.length,
      otherCodes: [...new Set(others.map((s) => s.papCode))].map((c) => `${c}×${others.filter((s) => s.papCode === c).length}`).join(', '),
      unanswered: samples.filter((s) => s.papCode === undefined).length,
      acceptedPerS: accepted.length / windowS,
      p4001: {
        p50: quantile(
          ms(refused, (s) => s.papMs),
          0.5,
        ),
        p99: quantile(
          ms(refused, (s) => s.papMs),
          0.99,
        ),
        atAgentP50: quantile(
          ms(refused, (s) => (s.papMs ?? 0) - (s.socketMs ?? 0)),
          0.5,
        ),
        atAgentP99: quantile(
          ms(refused, (s) => (s.papMs ?? 0) - (s.socketMs ?? 0)),
          0.99,
        ),
      },
      p1001: {
        p50: quantile(
          ms(accepted, (s) => s.papMs),
          0.5,
        ),
        p99: quantile(
          ms(accepted, (s) => s.papMs),
          0.99,
        ),
      },
      delivered: accepted.filter((s) => sink.receipts.get(s.pushId)?.messageState === 'delivered').length,
      handedBack: accepted.filter((s) => sink.receipts.get(s.pushId)?.path === '/handback').length,
      sipTimeouts: delta('spa_sip_transaction_timeouts_total'),
      sipResponses,
      drainS: (lastReceipt - sendEnd) / 1000,
      agentCpu,
      generatorCpu,
      rssBeforeMb,
      rssPeakMb: Math.max(rssBeforeMb, ...during.map((s) => s.rssMb)),
      rssEndMb: timeline[timeline.length - 1]?.rssMb ?? NaN,
      queuedPeak: Math.max(0, ...during.map((s) => s.queued).filter(Number.isFinite)),
      timeline,
    };
  } finally {
    if (sampler) clearInterval(sampler);
    await agent.stop();
  }
}

export function overloadTable(r: OverloadResult): string {
  return table(
    [
      'sustainable/s',
      'offered/s (10×) for s',
      'sent (sent/s)',
      'PAP 4001',
      '4001 share',
      '4001 answer p50 / p99 ms (from send)',
      '4001 answer p50 / p99 ms (at the agent)',
      'PAP 1001',
      'accepted/s',
      '1001 answer p50 / p99 ms',
      'delivered / handed back (drain after load s)',
      'SIP finals (timeouts)',
      'other / unanswered',
      'agent CPU %',
      'generator CPU %',
      'RSS before → peak → end MB',
      'queued peak',
    ],
    [
      [
        fmt(r.sustained),
        `${fmt(r.offered)} for ${r.durationS}`,
        `${r.sent} (${fmt(r.sentPerS)})`,
        r.overloaded,
        `${fmt((100 * r.overloaded) / Math.max(1, r.sent), 1)} %`,
        `${fmt(r.p4001.p50, 1)} / ${fmt(r.p4001.p99, 1)}`,
        `${fmt(r.p4001.atAgentP50, 1)} / ${fmt(r.p4001.atAgentP99, 1)}`,
        r.accepted,
        fmt(r.acceptedPerS),
        `${fmt(r.p1001.p50, 1)} / ${fmt(r.p1001.p99, 1)}`,
        `${r.delivered} / ${r.handedBack} (${fmt(r.drainS, 1)})`,
        `${r.sipResponses || '–'} (${r.sipTimeouts})`,
        `${r.other}${r.other ? ` (${r.otherCodes})` : ''} / ${r.unanswered}`,
        fmt(r.agentCpu),
        fmt(r.generatorCpu),
        `${fmt(r.rssBeforeMb)} → ${fmt(r.rssPeakMb)} → ${fmt(r.rssEndMb)}`,
        fmt(r.queuedPeak),
      ],
    ],
  );
}

/** RSS and queued pushes once a second (a compact timeline for the report). */
export function overloadTimeline(r: OverloadResult): string {
  const step = Math.max(1, Math.ceil(r.timeline.length / 16));
  const rows = r.timeline.filter((_, i) => i % step === 0 || i === r.timeline.length - 1);
  return table(
    ['t s (load from 0)', 'agent RSS MB', 'heap used / total MB', 'external MB', 'queued', 'in flight'],
    rows.map((s) => [
      fmt(s.t, 0),
      fmt(s.rssMb),
      `${fmt(s.heapUsedMb)} / ${fmt(s.heapTotalMb)}`,
      fmt(s.externalMb),
      fmt(s.queued),
      fmt(s.inFlight),
    ]),
  );
}

export function overloadChart(r: OverloadResult): string {
  const pts = r.timeline.map((s) => ({ x: Math.round(s.t), y: s.rssMb }));
  const ticks = pts.map((p) => p.x).filter((x, i, all) => all.indexOf(x) === i && x % 5 === 0);
  return lineChart(
    [{ name: `agent RSS MB (offered ${fmt(r.offered)}/s for ${r.durationS} s from t = 0)`, color: '#c0392b', points: pts }],
    {
      title: 'Agent RSS under 10× the sustainable push rate',
      xLabel: 'seconds since the load started',
      yLabel: 'RSS MB',
      xTicks: ticks,
    },
  );
}

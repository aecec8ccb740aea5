/**
 * `npm run bench -- --quick | --full [--only throughput,relay,signalling,scale,overload,cost,cluster,scale100k] [--cpu-prof] [--out file.md]
 *  [--sustained N] [--agent-root DIR[,DIR2]]` (the rate overload takes as sustainable when throughput is not in --only;
 *  the checkouts the cost part measures, alternately)
 *
 * Brings up a load-tuned Kamailio (tlsf, 2 GB shm, 4 MB socket buffer), one SIPp MESSAGE UAS, a PPG sink,
 * and for each experiment the agent in its own process; prints markdown tables (and writes them with
 * --out). Every process started here is stopped by pid on exit, error or SIGINT/SIGTERM.
 */
import { cpus, loadavg, totalmem } from 'node:os';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { stopAllProcesses } from '../test/support/cleanup.js';
import { kamailioMissingReason, startKamailio } from '../test/support/kamailio.js';
import { freePort } from '../test/support/ports.js';
import { makeTempDir, repoPath, repoRoot } from '../test/support/repo-paths.js';
import { sippMissingReason, sippVersion } from '../test/support/sipp.js';
import { PLANS, benchProfile, type BenchEnv } from './lib/bench-env.js';
import { fmt } from './lib/percentiles.js';
import { PpgSink } from './lib/ppg-sink.js';
import { Report, table } from './lib/report.js';
import { spawnLoadSipp } from './lib/sipp-load.js';
import { overloadChart, overloadTable, overloadTimeline, runOverload } from './overload.js';
import { relayTable, runRelay } from './relay.js';
import { runScale, scaleChart, scaleTable } from './scale.js';
import { runScale100k, SCALE_100K_PLAN, scale100kTable, scale100kTimeline, type Scale100kPlan } from './scale-100k.js';
import { regParseRate, runSignalling, signallingTable } from './signalling.js';
import { COST_PLANS, costRatios, costTable, runCost } from './cost.js';
import { CLUSTER_PLANS, clusterTables, runClusterBench } from './cluster.js';
import { clusterMissingReason } from '../test/support/cluster.js';
import { drachtioFromEnv, runThroughput, throughputTable, type StepResult } from './throughput.js';

const argv = process.argv.slice(2);
const USAGE = `Usage: npm run bench -- [--quick | --full] [--only throughput,relay,signalling,scale,overload,cost,cluster,scale100k]
                       [--sustained N] [--cpu-prof] [--agent-root DIR[,DIR2]] [--out file.md]
                       [--users N] [--expires S] [--push-rate R]

  --quick        short steps (default); --full: the numbers in docs/benchmarks.md
  --only LIST    run only these parts (comma-separated); default all but cost, cluster and scale100k
  --sustained N  pushes/s overload takes as sustainable when throughput is not run
  --cpu-prof     CPU-profile the agent (store NORMAL run)
  --agent-root D the checkout(s) whose agent the cost part runs (default this one); two, comma-separated,
                 run alternately A B A B (e.g. --agent-root /path/to/old,.) and get a ratio
  --out FILE     also write the markdown report to FILE
  -h, --help     this text; nothing is started

  cost: agent CPU µs per push at 100, 300, 600/s and past the knee, SQL statements and commits per push
  (counted by a preload in the agent), disk bytes per push, CPU µs per NOTIFY and per subscription, RSS
  and heap per watched user, Kamailio CPU µs per relayed MESSAGE — costs, not rates.
  cluster: pushes/s and CPU µs per push for the SQLite single process, 1 and 3 agents on PostgreSQL +
  Redis, side by side; failover times over repeated kill -9s (needs postgresql and redis-server too).

  scale100k: --users (default 100000) watched users held through Kamailio for two refresh periods of
  --expires (default 120 s), pushes at --push-rate (default 20/s) meanwhile; RSS, heap, CPU, NOTIFY rate.

Starts a load-tuned Kamailio, SIPp and the agent on loopback (needs kamailio, sip-tester); minutes long.`;
const WITH_VALUE = ['--only', '--sustained', '--agent-root', '--out', '--users', '--expires', '--push-rate'];
const KNOWN_FLAGS = new Set(['--quick', '--full', '--cpu-prof', '--help', '-h', ...WITH_VALUE]);
const unknown = argv.find((a, i) => a.startsWith('-') && !KNOWN_FLAGS.has(a) && !WITH_VALUE.includes(argv[i - 1] ?? ''));
if (argv.includes('--help') || argv.includes('-h') || unknown !== undefined) {
  // Asking for help (or mistyping a flag) must never start a benchmark run.
  if (unknown !== undefined) console.error(`bench: unknown option ${unknown}`);
  console.log(USAGE);
  process.exit(unknown !== undefined ? 64 : 0);
}
const arg = (name: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const plan = { ...PLANS[argv.includes('--full') ? 'full' : 'quick'], cpuProfile: argv.includes('--cpu-prof') };
const only = new Set((arg('--only') ?? 'throughput,relay,signalling,scale,overload').split(','));
const outFile = arg('--out');
const agentRoots = (arg('--agent-root') ?? repoRoot).split(',').map((d) => resolve(d));

let cleaning = false;
async function cleanupAndExit(code: number): Promise<never> {
  if (!cleaning) {
    cleaning = true;
    await stopAllProcesses();
  }
  process.exit(code);
}
process.on('SIGINT', () => void cleanupAndExit(130));
process.on('SIGTERM', () => void cleanupAndExit(143));

async function main(): Promise<void> {
  for (const root of agentRoots) {
    if (!existsSync(join(root, 'src/cli.ts')) || !existsSync(join(root, 'node_modules')))
      throw new Error(`--agent-root ${root}: no src/cli.ts and node_modules there`);
  }
  const missing = kamailioMissingReason() ?? sippMissingReason();
  const report = new Report();
  report.note(
    `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${fmt(totalmem() / 2 ** 30, 1)} GiB, node ${process.version}, ${sippVersion() ?? 'no sipp'}; plan ${plan.name}` +
      ` (T1 ${plan.t1Ms} ms${plan.name === 'quick' ? ', shortened for --quick' : ''}).`,
  );
  if (only.has('scale')) {
    const rows = await runScale(plan.tableSizes);
    report.section('Scale: capability table (in-process, real PIDF parser)', scaleTable(rows));
    mkdirSync(repoPath('docs/benchmarks'), { recursive: true });
    const chart = repoPath(`docs/benchmarks/capability-table-memory${plan.name === 'quick' ? '-quick' : ''}.svg`);
    writeFileSync(chart, scaleChart(rows));
    report.note(`Chart written: ${chart}`);
  }
  if (only.has('cluster')) {
    const why = clusterMissingReason();
    if (why) report.note(`Cluster part skipped: ${why}`);
    else {
      const cplan = CLUSTER_PLANS[plan.name];
      report.note(
        `Load average before the cluster part: ${loadavg()
          .map((l) => fmt(l, 1))
          .join(' / ')} (1/5/15 min).`,
      );
      const r = await runClusterBench(cplan);
      const t = clusterTables(r);
      report.section(
        `Cluster: SQLite single process vs PostgreSQL + Redis, 1 and 3 agents (${cplan.users} users, same Kamailio, handset and sink)`,
        t.throughput,
      );
      report.section(
        `Cluster failover: ${cplan.kills} × kill -9 of one of three agents under load (leaseMs ${r.leaseMs}, tickMs ${r.tickMs})`,
        t.failover,
      );
    }
    // The cluster part brings up its own Kamailio; the rest need the load-tuned one below.
    if ([...only].every((p) => p === 'cluster' || p === 'scale')) {
      if (outFile) writeFileSync(outFile, report.text());
      return;
    }
  }
  if (missing) {
    report.note(`SIP experiments skipped: ${missing}`);
    return;
  }
  // The 100k scale run: more shared memory and larger presence hash tables (2^16 buckets, not 2^9).
  const big = only.has('scale100k');
  const kamailio = await startKamailio({
    shmMb: big ? 4096 : 2048,
    pkgMb: big ? 32 : 8,
    children: 4,
    startTimeoutMs: 20_000,
    ...(big && { defines: { PRESENCE_SUBS_HTABLE_SIZE: '16', PRESENCE_PRES_HTABLE_SIZE: '16' } }),
  });
  report.note(
    `Kamailio ${kamailio.version} pid ${kamailio.pid} on ${kamailio.host}:${kamailio.port} (-x tlsf -m ${big ? 4096 : 2048} -M ${big ? 32 : 8}, maxbuffer 4 MB, 4 children${big ? ', presence hash tables 2^16' : ''})`,
  );
  const uasPort = await freePort();
  const uas = spawnLoadSipp({ scenario: 'test/sipp/uas-message.xml', localPort: uasPort, timeoutS: 3600 });
  await uas.ready();
  const sink = new PpgSink();
  await sink.start();
  const env: BenchEnv = {
    plan,
    provisioned: new Set(),
    kamailio,
    uas: { host: '127.0.0.1', port: uasPort },
    sink,
    report,
    profile: () => benchProfile(kamailio),
  };
  try {
    let agentRate = 0;
    let agentRateNormal = 0;
    if (only.has('throughput')) {
      const profDir = plan.cpuProfile ? makeTempDir('bench-cpu-prof') : undefined;
      const embedded = await runThroughput(env, 'embedded', 'FULL');
      const normal = await runThroughput(env, 'embedded', 'NORMAL', profDir);
      const steps: StepResult[] = [...embedded.steps, ...normal.steps];
      agentRate = embedded.sustained;
      agentRateNormal = normal.sustained;
      const s = embedded.subscriptions;
      report.section(
        'Subscriptions held (embedded engine against Kamailio, throughput warm-up)',
        table(
          ['users', 'active', 'time to all active s', 'NOTIFYs/s during warm-up', 'agent RSS before → after MB'],
          [[s.users, s.active, fmt(s.seconds, 1), fmt(s.notifiesPerS), `${fmt(s.rssBeforeMb)} → ${fmt(s.rssAfterMb)}`]],
        ),
      );
      if (drachtioFromEnv()) {
        try {
          steps.push(...(await runThroughput(env, 'drachtio', 'FULL')).steps);
        } catch (err) {
          report.note(`drachtio engine: not measured: ${(err as Error).message.split('\n')[0]}`);
        }
      } else report.note('drachtio engine: skipped (DRACHTIO_HOST not set).');
      report.section('End-to-end pushes (PAP → SIP MESSAGE → 200 → PAP result notification at the PPG sink)', throughputTable(steps));
      report.note(
        `Sustained (< 1 % failures, ≥ 90 % of offered): ${fmt(agentRate)} pushes/s with store FULL (the default), ${fmt(agentRateNormal)} pushes/s with store NORMAL.`,
      );
      if (profDir)
        report.note(`CPU profile of the agent (store NORMAL run): ${profDir} — summarise with \`npx tsx bench/top-frames.ts <file>\``);
    }
    if (only.has('relay')) {
      const users = Array.from({ length: plan.throughputUsers }, (_, i) => `t${String(i + 1).padStart(6, '0')}`);
      if (!env.provisioned.has('t')) {
        const { makePopulation, provision } = await import('./lib/population.js');
        await provision(kamailio, makePopulation('t', plan.throughputUsers, 0, kamailio.host), env.uas);
      }
      const relay = await runRelay(env, users);
      report.section('Kamailio relay, SIPp UAC → Kamailio → SIPp UAS MESSAGE (same run, same core, same UAS)', relayTable(relay.steps));
      const ratio = (r: number) => (r > 0 && relay.sustained > 0 ? fmt(r / relay.sustained, 3) : '–');
      report.note(
        `Relay sustained: ${fmt(relay.sustained)} MESSAGE/s. Agent ÷ relay = ${ratio(agentRate)} (store FULL), ${ratio(agentRateNormal)} (store NORMAL).`,
      );
    }
    if (only.has('overload')) {
      const given = Number(arg('--sustained') ?? NaN);
      const basis = agentRate > 0 ? agentRate : given > 0 ? given : plan.overloadFallbackRate;
      const r = await runOverload(env, basis);
      report.section(
        `Overload: 10× the sustainable rate (${agentRate > 0 ? 'store FULL, measured above' : given > 0 ? 'store FULL, given by --sustained' : 'assumed, throughput not run'}), default limits`,
        overloadTable(r),
      );
      report.section('Overload: agent RSS and push queue over time', overloadTimeline(r));
      const chart = repoPath(`docs/benchmarks/overload-rss${plan.name === 'quick' ? '-quick' : ''}.svg`);
      writeFileSync(chart, overloadChart(r));
      report.note(`Chart written: ${chart}`);
    }
    if (only.has('cost')) {
      const costPlan = COST_PLANS[plan.name];
      const runs = await runCost(env, costPlan, agentRoots);
      report.section(
        `Cost per push, per NOTIFY and per watched user (${costPlan.users} users; ${agentRoots.length > 1 ? 'checkouts alternately, ' : ''}mean of ${costPlan.rounds} rounds)`,
        costTable(runs),
      );
      const ratios = costRatios(runs);
      if (ratios) report.note(ratios);
      report.note(
        `Load average at the end: ${loadavg()
          .map((l) => fmt(l, 1))
          .join(' / ')} (1/5/15 min) on ${cpus().length} cores; CPU per push is the agent's own time, idle share taken off.`,
      );
    }
    if (big) {
      const plan100k: Scale100kPlan = {
        ...SCALE_100K_PLAN,
        users: Number(arg('--users') ?? SCALE_100K_PLAN.users),
        expiresS: Number(arg('--expires') ?? SCALE_100K_PLAN.expiresS),
        pushRate: Number(arg('--push-rate') ?? SCALE_100K_PLAN.pushRate),
      };
      const r = await runScale100k(env, plan100k);
      report.section(`Scale: ${plan100k.users.toLocaleString('en-US')} watched users on one agent through Kamailio`, scale100kTable(r));
      report.section('Scale: samples (ramp, then the hold over the refresh periods)', scale100kTimeline(r));
      report.note(
        `Load average at the end: ${loadavg()
          .map((l) => fmt(l, 1))
          .join(' / ')} (1/5/15 min) on ${cpus().length} cores.`,
      );
    }
    if (only.has('signalling')) {
      const rows = await runSignalling(env);
      report.section('Signalling per push: always-sip vs the decision by capability source (presence, reg, both)', signallingTable(rows));
      const parse = regParseRate();
      report.note(
        `reg NOTIFY bodies parsed and applied in-process: ${Math.round(parse.perCpuS)} per CPU-second (${Math.round(parse.perS)}/s wall; ` +
          `${parse.docs} × the ${parse.bytes}-byte recorded Kamailio document).`,
      );
    }
  } finally {
    await sink.stop();
    await uas.stop();
    await kamailio.stop();
    if (outFile) writeFileSync(outFile, report.text());
  }
}

main().then(
  () => cleanupAndExit(0),
  (err: unknown) => {
    console.error(err);
    return cleanupAndExit(1);
  },
);

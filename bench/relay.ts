/**
 * The SIP core's own limit, in the same run: SIPp UAC → Kamailio → SIPp UAS MESSAGE
 * (test/sipp/uac-message-csv.xml) at stepped rates, to the same registered users and the same UAS the
 * agent's pushes go to. Rate = successful calls / step time; a step passes with < 1 % failed calls.
 */
import { freePort } from '../test/support/ports.js';
import { writeSippCsv } from '../test/support/sipp.js';
import { makeTempDir } from '../test/support/repo-paths.js';
import type { BenchEnv } from './lib/bench-env.js';
import { fmt } from './lib/percentiles.js';
import { cpuMeter } from './lib/proc-stats.js';
import { table } from './lib/report.js';
import { spawnLoadSipp } from './lib/sipp-load.js';

export interface RelayStep {
  offered: number;
  calls: number;
  successful: number;
  failed: number;
  achieved: number;
  meanMs: number;
  kamailioCpu: number;
}

export async function runRelay(env: BenchEnv, users: string[]): Promise<{ steps: RelayStep[]; sustained: number }> {
  const { plan, kamailio } = env;
  const dir = makeTempDir('bench-relay');
  const csv = writeSippCsv(
    dir,
    'users.csv',
    users.map((u) => [u]),
  );
  const steps: RelayStep[] = [];
  for (const rate of plan.relayRates) {
    const calls = rate * plan.relayStepS;
    const uac = spawnLoadSipp({
      scenario: 'test/sipp/uac-message-csv.xml',
      remote: `${kamailio.host}:${kamailio.port}`,
      localPort: await freePort(),
      calls,
      rate,
      injectCsv: csv,
      keys: { domain: kamailio.host },
      timeoutS: plan.relayStepS + 20,
    });
    const cpu = cpuMeter(kamailio.pid);
    const t0 = performance.now();
    await uac.done;
    const seconds = (performance.now() - t0) / 1000;
    const kamailioCpu = cpu.percent();
    const c = uac.counts();
    const step: RelayStep = {
      offered: rate,
      calls,
      successful: c.successful,
      failed: calls - c.successful,
      achieved: c.successful / Math.max(seconds, plan.relayStepS),
      meanMs: c.meanCallMs,
      kamailioCpu,
    };
    steps.push(step);
    console.log(
      `  relay ${rate}/s: ${step.successful}/${calls} ok, ${fmt(step.achieved)}/s, mean ${fmt(step.meanMs, 1)} ms, kamailio ${fmt(kamailioCpu)} %`,
    );
    if (step.failed / calls >= 0.01) break;
    await new Promise((r) => setTimeout(r, 1000));
  }
  const good = steps.filter((s) => s.failed / s.calls < 0.01);
  return { steps, sustained: Math.max(0, ...good.map((s) => s.achieved)) };
}

export function relayTable(steps: RelayStep[]): string {
  return table(
    ['offered/s', 'MESSAGEs', 'failed', 'relayed/s', 'mean MESSAGE→200 ms', 'Kamailio CPU % (all procs)'],
    steps.map((s) => [s.offered, s.calls, s.failed, fmt(s.achieved), fmt(s.meanMs, 1), fmt(s.kamailioCpu)]),
  );
}

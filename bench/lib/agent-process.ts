/**
 * The agent as a separate OS process, so its CPU and RSS are its own and can be read from /proc/<pid>:
 * the fault tests' {@link spawnAgent} (`node --import tsx src/cli.ts start`, its own process group,
 * tracked for cleanup) plus a watch list, an optional V8 CPU profile and the /metrics counters.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AgentConfigInput } from '../../src/config/config-schema.js';
import type { SipProfile } from '../../src/profiles/schema.js';
import { planAgent, spawnAgent, type AgentProcess as SpawnedAgent } from '../../test/support/agent-process.js';

export interface AgentProcessOptions {
  profile: SipProfile;
  config: AgentConfigInput;
  /** AORs subscribed to at start (config presence.watchList). */
  watch?: string[];
  /** Write a V8 CPU profile (`--cpu-prof`) into this directory on exit. */
  cpuProfileDir?: string;
  /** More node flags (e.g. `--heapsnapshot-signal=SIGUSR2`). */
  nodeArgs?: string[];
  /** Run the agent of this checkout (default this repository): the cost bench compares two. */
  root?: string;
}

export interface AgentProcess extends SpawnedAgent {
  /** Samples from /metrics: `name{labels}` → value. */
  metrics(): Promise<Map<string, number>>;
}

export function metricValue(metrics: Map<string, number>, name: string, labels = ''): number {
  return metrics.get(labels ? `${name}{${labels}}` : name) ?? 0;
}

async function readMetrics(baseUrl: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([a-z_:]+(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (m) out.set(m[1] as string, Number(m[2]));
  }
  return out;
}

export async function startAgentProcess(o: AgentProcessOptions): Promise<AgentProcess> {
  const plan = await planAgent(o.profile);
  let watchList: string | undefined;
  if (o.watch) {
    watchList = join(plan.dir, 'watch.txt');
    writeFileSync(watchList, `${o.watch.join('\n')}\n`);
  }
  plan.config = {
    ...o.config,
    presence: { ...o.config.presence, ...(watchList ? { watchList } : {}) },
    log: { level: 'warn', pretty: false },
  };
  if (o.root !== undefined) plan.cwd = o.root;
  plan.nodeArgs = [...(o.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${o.cpuProfileDir}`] : []), ...(o.nodeArgs ?? [])];
  const agent = spawnAgent(plan);
  try {
    await agent.ready(30_000);
  } catch (err) {
    await agent.stop(1000);
    throw err;
  }
  // A long grace on stop: the agent drains, and --cpu-prof is written only on a clean exit.
  return { ...agent, metrics: () => readMetrics(agent.baseUrl), stop: (graceMs = 15_000) => agent.stop(graceMs) };
}

/**
 * The agent as a separate OS process (`node --import tsx src/cli.ts start -c <generated config>`), so
 * its CPU and RSS are its own and can be read from /proc/<pid>. `npx tsx` would put two wrapper
 * processes (npm, tsx's launcher) between us and the node that runs the agent; `--import tsx` is what
 * tsx's launcher runs in the end. Counters come from its /metrics endpoint.
 */
import { spawn } from 'node:child_process';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { AgentConfigInput } from '../../src/config/config-schema.js';
import type { SipProfile } from '../../src/profiles/schema.js';
import { terminateGroup, trackProcess, untrackProcess } from '../../test/support/cleanup.js';
import { freePort } from '../../test/support/ports.js';
import { makeTempDir, repoRoot } from '../../test/support/repo-paths.js';

export interface AgentProcessOptions {
  profile: SipProfile;
  config: AgentConfigInput;
  /** AORs subscribed to at start (config presence.watchList). */
  watch?: string[];
  /** Write a V8 CPU profile (`--cpu-prof`) into this directory on exit. */
  cpuProfileDir?: string;
}

export interface AgentProcess {
  readonly pid: number;
  readonly papUrl: string;
  readonly baseUrl: string;
  readonly logFile: string;
  /** Samples from /metrics: `name{labels}` → value. */
  metrics(): Promise<Map<string, number>>;
  stop(): Promise<void>;
}

export function metricValue(metrics: Map<string, number>, name: string, labels = ''): number {
  return metrics.get(labels ? `${name}{${labels}}` : name) ?? 0;
}

export async function startAgentProcess(o: AgentProcessOptions): Promise<AgentProcess> {
  const dir = makeTempDir('bench-agent');
  const sipPort = await freePort('127.0.0.2');
  const httpPort = await freePort('127.0.0.1');
  const profilePath = join(dir, 'profile.yaml');
  writeFileSync(profilePath, stringify(o.profile));
  let watchList: string | undefined;
  if (o.watch) {
    watchList = join(dir, 'watch.txt');
    writeFileSync(watchList, o.watch.join('\n') + '\n');
  }
  const config: AgentConfigInput = {
    ...o.config,
    profile: profilePath,
    sip: { listen: [{ host: '127.0.0.2', port: sipPort, transport: 'udp' }, { host: '127.0.0.2', port: sipPort, transport: 'tcp' }], ...o.config.sip },
    http: { host: '127.0.0.1', port: httpPort },
    store: { ...o.config.store, path: join(dir, 'pushes.sqlite') },
    presence: { ...o.config.presence, ...(watchList ? { watchList } : {}) },
    log: { level: 'warn', pretty: false },
  };
  const configPath = join(dir, 'config.yaml');
  writeFileSync(configPath, stringify(config));
  const logFile = join(dir, 'agent.log');
  const nodeArgs = ['--import', 'tsx'];
  if (o.cpuProfileDir) nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${o.cpuProfileDir}`);
  const proc = spawn(process.execPath, [...nodeArgs, 'src/cli.ts', 'start', '-c', configPath], {
    cwd: repoRoot,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  const pid = proc.pid;
  if (pid === undefined) throw new Error('agent did not spawn');
  trackProcess({ name: 'bench agent', pid, stop: () => terminateGroup(pid, 10_000) });
  proc.stdout?.on('data', (c: Buffer) => appendFileSync(logFile, c));
  proc.stderr?.on('data', (c: Buffer) => appendFileSync(logFile, c));
  let exited = false;
  const done = new Promise<void>((resolve) => proc.once('exit', () => ((exited = true), untrackProcess(pid), resolve())));
  const baseUrl = `http://127.0.0.1:${httpPort}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exited) throw new Error(`agent exited during start; log ${logFile}`);
    if (Date.now() > deadline) {
      await terminateGroup(pid, 2000);
      throw new Error(`agent not ready within 30 s; log ${logFile}`);
    }
    const ok = await fetch(`${baseUrl}/healthz`).then((r) => r.ok, () => false);
    if (ok) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    pid,
    papUrl: `${baseUrl}/pap`,
    baseUrl,
    logFile,
    async metrics() {
      const text = await (await fetch(`${baseUrl}/metrics`)).text();
      const out = new Map<string, number>();
      for (const line of text.split('\n')) {
        const m = /^([a-z_:]+(?:\{[^}]*\})?) (\S+)$/.exec(line);
        if (m) out.set(m[1] as string, Number(m[2]));
      }
      return out;
    },
    async stop() {
      // SIGTERM to the agent itself (its handler drains and exits; --cpu-prof is written on exit).
      if (!exited) process.kill(pid, 'SIGTERM');
      const timer = setTimeout(() => void terminateGroup(pid, 1000), 15_000);
      await done;
      clearTimeout(timer);
    },
  };
}

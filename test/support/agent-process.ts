/**
 * The agent as a separate OS process (`node --import tsx src/cli.ts start -c <file>`), for the fault
 * tests that kill, signal and restart it. Config and profile are written to a private temp dir; the
 * process runs in its own process group and is tracked by the harness cleanup (SIGKILLed on exit).
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AgentConfigInput } from '../../src/config/config-schema.js';
import type { SipProfile } from '../../src/profiles/schema.js';
import { groupAlive, signalGroup, terminateGroup, trackProcess, untrackProcess } from './cleanup.js';
import { freePort } from './ports.js';
import { waitUntil } from './poll.js';
import { makeTempDir, repoRoot } from './repo-paths.js';

export interface AgentProcess {
  readonly pid: number;
  readonly baseUrl: string;
  readonly papUrl: string;
  readonly configPath: string;
  /** Resolves when the process exits. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; atMs: number }>;
  output(): string;
  signal(signal: NodeJS.Signals): void;
  /** Resolves once `GET /healthz` answers 200; rejects, saying what it saw, if the process exits or `timeoutMs` (default 60 s) passes. */
  ready(timeoutMs?: number): Promise<void>;
  /** SIGTERM (the agent drains and exits), SIGKILL after `graceMs` (default 5 s). */
  stop(graceMs?: number): Promise<void>;
}

/** Settings a restart must keep (same store, same ports). */
export interface AgentProcessPlan {
  dir: string;
  httpPort: number;
  /** The agent's SIP listen address (UDP and TCP); default 127.0.0.2. Cluster tests give each agent its own. */
  sipHost?: string;
  sipPort: number;
  storePath: string;
  config: AgentConfigInput;
  profile: SipProfile;
  /** Extra node flags before the script (e.g. `--cpu-prof`). */
  nodeArgs?: string[];
  /** The checkout to run (its src/cli.ts and node_modules); default this repository. Benchmarks compare two. */
  cwd?: string;
}

/** Picks ports and a store path for an agent process; spawn it (again) with {@link spawnAgent}. */
export async function planAgent(profile: SipProfile, config: AgentConfigInput = {}, sipHost = '127.0.0.2'): Promise<AgentProcessPlan> {
  const dir = makeTempDir('agent-proc');
  return {
    dir,
    httpPort: await freePort('127.0.0.1'),
    sipHost,
    sipPort: await freePort(sipHost),
    storePath: join(dir, 'pushes.sqlite'),
    config,
    profile,
  };
}

export function spawnAgent(plan: AgentProcessPlan): AgentProcess {
  const profilePath = join(plan.dir, 'profile.json');
  const configPath = join(plan.dir, 'config.json');
  writeFileSync(profilePath, JSON.stringify(plan.profile));
  // plan.config wins; `sip` and `store` are merged key by key into these defaults.
  const config: AgentConfigInput = {
    profile: profilePath,
    log: { level: 'info', pretty: false },
    ...plan.config,
    sip: {
      listen: [
        { host: plan.sipHost ?? '127.0.0.2', port: plan.sipPort, transport: 'udp' },
        { host: plan.sipHost ?? '127.0.0.2', port: plan.sipPort, transport: 'tcp' },
      ],
      timers: { t1Ms: 100, t2Ms: 400, t4Ms: 500 },
      ...plan.config.sip,
    },
    store: { path: plan.storePath, ...plan.config.store },
    http: { host: '127.0.0.1', port: plan.httpPort, ...plan.config.http },
  };
  writeFileSync(configPath, JSON.stringify(config));
  const child = spawn(process.execPath, [...(plan.nodeArgs ?? []), '--import', 'tsx', 'src/cli.ts', 'start', '-c', configPath], {
    cwd: plan.cwd ?? repoRoot,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, SPA_CONFIG: '', NODE_OPTIONS: '' },
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error('agent process did not start');
  let out = '';
  const keep = (chunk: Buffer) => {
    out += chunk.toString('utf8');
    if (out.length > 2_000_000) out = out.slice(-1_000_000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; atMs: number }>((resolve) =>
    child.on('exit', (code, signal) => {
      untrackProcess(pid);
      resolve({ code, signal, atMs: Date.now() });
    }),
  );
  const baseUrl = `http://127.0.0.1:${plan.httpPort}`;
  const handle: AgentProcess = {
    pid,
    baseUrl,
    papUrl: `${baseUrl}${plan.config.http?.papPath ?? '/pap'}`,
    configPath,
    exited,
    output: () => out,
    signal: (signal) => void signalGroup(pid, signal),
    // An upper bound, not a wait: ready() returns as soon as /healthz answers 200. Starting means tsx
    // compiling the sources and the agent opening its store and sockets, which took over 20 s on a
    // 2-core machine at load average 25, so the bound is generous.
    async ready(timeoutMs = 60_000) {
      const started = Date.now();
      let gone = false;
      let last = 'no answer yet';
      void exited.then(() => {
        gone = true;
      });
      const healthy = async () => {
        try {
          const res = await fetch(`${baseUrl}/healthz`, { signal: AbortSignal.timeout(2000) });
          last = `HTTP ${res.status}`;
          return res.ok;
        } catch (err) {
          last = err instanceof Error ? err.message : String(err); // not listening yet
          return false;
        }
      };
      if ((await waitUntil(async () => gone || (await healthy()), timeoutMs, 100)) && !gone) return;
      const why = gone ? 'the process exited' : `no 200 within ${timeoutMs} ms`;
      throw new Error(
        `agent process ${pid} not ready: waited ${Date.now() - started} ms for GET ${baseUrl}/healthz to answer 200; ` +
          `${why}; last attempt: ${last}\n${out.slice(-4000)}`,
      );
    },
    async stop(graceMs = 5000) {
      if (groupAlive(pid)) await terminateGroup(pid, graceMs);
    },
  };
  trackProcess({ name: 'sip-push-agent', pid, stop: () => handle.stop() });
  return handle;
}

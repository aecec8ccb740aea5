/**
 * The start loop every long-running server helper shares (Kamailio, PostgreSQL, Redis): spawn in its own
 * process group, keep a bounded log, register with cleanup.ts, and resolve once a readiness probe
 * answers — or stop it by pid and reject with the log tail when it exits or the bound runs out.
 */
import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';
import { terminateGroup, trackProcess, untrackProcess } from './cleanup.js';
import { waitUntil } from './poll.js';

/** stdout+stderr of every run of one server, trimmed to the newer half when it passes `limit` bytes. */
export interface ServerLog {
  append(chunk: Buffer): void;
  text(): string;
}

export function serverLog(limit: number): ServerLog {
  let log = '';
  return {
    append(chunk) {
      log += chunk.toString('utf8');
      if (log.length > limit) log = log.slice(-limit / 2);
    },
    text: () => log,
  };
}

export interface LaunchOptions {
  /** For cleanup diagnostics and the error message, e.g. `postgres`. */
  name: string;
  command: string;
  args: readonly string[];
  /** Extra spawn options (uid/gid); `detached` and `stdio` are set here. */
  spawnOptions?: Omit<SpawnOptions, 'detached' | 'stdio'>;
  log: ServerLog;
  /** True once the server serves (a ping, an OPTIONS answer). Polled every `pollMs`. */
  ready(): boolean | Promise<boolean>;
  startTimeoutMs: number;
  pollMs?: number;
  /** What the error names as the address, e.g. `127.0.0.1:5432`. */
  where: string;
  /** Cleanup scope of the process this one replaces (a restart), from processStartSeq. */
  startedAs?: number;
}

/** Spawn, track and wait for readiness; on failure the process group is stopped and the error carries the log tail. */
export async function launchServer(o: LaunchOptions): Promise<ChildProcess> {
  const proc = spawn(o.command, o.args, { ...o.spawnOptions, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout?.on('data', o.log.append);
  proc.stderr?.on('data', o.log.append);
  const pid = proc.pid;
  if (pid === undefined) throw new Error(`${o.name} did not spawn`);
  trackProcess({ name: o.name, pid, stop: () => terminateGroup(pid) }, o.startedAs);
  let exited = false;
  proc.once('exit', () => {
    exited = true;
  });
  if ((await waitUntil(async () => exited || (await o.ready()), o.startTimeoutMs, o.pollMs ?? 50)) && !exited) return proc;
  await terminateGroup(pid);
  untrackProcess(pid);
  throw new Error(`${o.name} did not become ready on ${o.where} (exited: ${exited})\n${o.log.text().slice(-4000)}`);
}

/**
 * SIPp for load: like test/support/sipp.ts but without per-message traces (writing every message to a
 * file would cap SIPp long before Kamailio). Counts come from SIPp's own `-trace_stat` CSV.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { terminateGroup, trackProcess, untrackProcess } from '../../test/support/cleanup.js';
import { isPortBound } from '../../test/support/ports.js';
import { makeTempDir, repoPath } from '../../test/support/repo-paths.js';

export interface LoadSippOptions {
  scenario: string;
  remote?: string;
  localHost?: string;
  localPort: number;
  calls?: number;
  rate?: number;
  injectCsv?: string;
  keys?: Record<string, string>;
  /** Hard bound: SIPp's -timeout, and Node kills the group 5 s later. */
  timeoutS: number;
}

export interface SippCounts {
  successful: number;
  failed: number;
  created: number;
  /** Mean call length in ms (request sent → final response for one-transaction scenarios). */
  meanCallMs: number;
}

export interface LoadSipp {
  readonly pid: number;
  readonly done: Promise<number | null>;
  ready(timeoutMs?: number): Promise<void>;
  counts(): SippCounts;
  stop(): Promise<void>;
}

function hmsToMs(value: string): number {
  const m = /(\d+):(\d+):(\d+)(?::(\d+))?/.exec(value);
  if (!m) return Number.NaN;
  return ((Number(m[1]) * 60 + Number(m[2])) * 60 + Number(m[3])) * 1000 + Number(m[4] ?? 0) / 1000;
}

export function spawnLoadSipp(o: LoadSippOptions): LoadSipp {
  const dir = makeTempDir('bench-sipp');
  const statFile = join(dir, 'stat.csv');
  const args: string[] = o.remote ? [o.remote] : [];
  args.push('-sf', repoPath(o.scenario), '-i', o.localHost ?? '127.0.0.1', '-p', String(o.localPort), '-t', 'u1');
  args.push('-nostdin', '-timeout', `${o.timeoutS}s`, '-trace_stat', '-stf', statFile, '-fd', '1', '-buff_size', '4194304');
  if (o.calls !== undefined) args.push('-m', String(o.calls));
  if (o.rate !== undefined) args.push('-r', String(o.rate), '-rp', '1000', '-l', String(Math.max(1000, o.rate * 4)));
  if (o.injectCsv) args.push('-inf', o.injectCsv);
  for (const [k, v] of Object.entries(o.keys ?? {})) args.push('-key', k, v);
  const proc = spawn('sipp', args, { cwd: dir, detached: true, stdio: 'ignore' });
  const pid = proc.pid;
  if (pid === undefined) throw new Error(`sipp did not spawn (${o.scenario})`);
  trackProcess({ name: `bench sipp ${o.scenario}`, pid, stop: () => terminateGroup(pid, 2000) });
  let exited = false;
  const killer = setTimeout(() => void terminateGroup(pid, 1000), (o.timeoutS + 5) * 1000);
  const done = new Promise<number | null>((resolve) =>
    proc.once('exit', (code) => {
      exited = true;
      clearTimeout(killer);
      untrackProcess(pid);
      resolve(code);
    }),
  );
  return {
    pid,
    done,
    async ready(timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline && !exited) {
        if (isPortBound(o.localPort, 'udp', o.localHost ?? '127.0.0.1') !== false) return;
        await new Promise((r) => setTimeout(r, 25));
      }
      throw new Error(`sipp ${o.scenario} not listening on ${o.localPort}`);
    },
    counts() {
      if (!existsSync(statFile)) return { successful: 0, failed: 0, created: 0, meanCallMs: Number.NaN };
      const lines = readFileSync(statFile, 'utf8').trim().split('\n');
      const header = (lines[0] ?? '').split(';');
      const last = (lines.at(-1) ?? '').split(';');
      const col = (name: string) => last[header.indexOf(name)] ?? '';
      return {
        successful: Number(col('SuccessfulCall(C)')),
        failed: Number(col('FailedCall(C)')),
        created: Number(col('TotalCallCreated')),
        meanCallMs: hmsToMs(col('CallLength(C)')),
      };
    },
    async stop() {
      await terminateGroup(pid, 2000);
      await done;
    },
  };
}

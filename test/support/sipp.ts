/**
 * Run SIPp 3.6 scenarios (test/sipp/*.xml) as real processes with every trace in a private temp dir, so
 * tests read exactly what SIPp sent and received (`-trace_msg`). See test/support/README.md.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { trackProcess, untrackProcess, terminateGroup } from './cleanup.js';
import { letTimePass, waitUntil } from './poll.js';
import { freePort, isPortBound } from './ports.js';
import { makeTempDir, repoPath } from './repo-paths.js';
import { parseSippMessages, type SippTracedMessage } from './sipp-trace.js';

export type SippTransport = 'u1' | 't1';

export interface SippOptions {
  /** Scenario file, repo-relative (`test/sipp/uas-message.xml`) or absolute. */
  scenario: string;
  /** `host:port` to send to; omit for a pure UAS. */
  remote?: string;
  /** Local address (`-i`); default 127.0.0.1. */
  localHost?: string;
  /** Local port (`-p`); default a free one. */
  localPort?: number;
  /** `u1` (UDP, one socket) or `t1` (TCP, one connection); default u1. */
  transport?: SippTransport;
  /** Calls before SIPp exits (`-m`). */
  calls?: number;
  /** New calls per second (`-r`). */
  rate?: number;
  /** Request-URI user (`-s`, the `[service]` keyword). */
  service?: string;
  /** CSV file for `[fieldN]` (`-inf`), e.g. from {@link writeSippCsv}. */
  injectCsv?: string;
  /** `-key NAME VALUE` pairs for `[NAME]` in the scenario. */
  keys?: Record<string, string>;
  /** Global SIPp timeout (`-timeout`, exit code ≠ 0 when hit); Node also kills it 5 s later. */
  timeoutS: number;
  /** More raw arguments, e.g. `['-nr']`. */
  extraArgs?: string[];
  /** Where traces go; default a fresh temp dir. */
  tmpDir?: string;
}

export interface SippResult {
  /** Exit code (0 = every call succeeded, 1 = some failed, 99 = no call processed...), null if killed. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface SippHandle {
  readonly pid: number;
  readonly host: string;
  readonly port: number;
  readonly tmpDir: string;
  /** Resolves when SIPp exits (never rejects). */
  readonly done: Promise<SippResult>;
  /** Resolves once the local port is bound by SIPp (UDP or TCP per transport); rejects if it exits first. */
  ready(timeoutMs?: number): Promise<void>;
  /** SIGTERM, SIGKILL after 2 s; resolves when gone. */
  stop(): Promise<void>;
  /** The raw `-message_file` contents ('' before anything was traced). */
  messagesLog(): string;
  /** {@link messagesLog} parsed. */
  messages(): SippTracedMessage[];
  /** The raw `-error_file` contents. */
  errorsLog(): string;
}

/** Why SIPp tests cannot run here, or undefined when they can. */
export function sippMissingReason(): string | undefined {
  const v = spawnSync('sipp', ['-v'], { encoding: 'utf8' });
  return v.error ? 'sipp binary not found (Debian package `sip-tester`)' : undefined;
}

/** True when the `sipp` binary runs. */
export function hasSipp(): boolean {
  return sippMissingReason() === undefined;
}

/** e.g. `SIPp v3.6.1-SCTP-PCAP-RTPSTREAM`, or undefined when absent. */
export function sippVersion(): string | undefined {
  const v = spawnSync('sipp', ['-v'], { encoding: 'utf8' });
  return /SIPp v[\w.-]+/.exec(`${v.stdout ?? ''}${v.stderr ?? ''}`)?.[0];
}

/** Write a SIPp injection CSV (`SEQUENTIAL` by default) and return its path. */
export function writeSippCsv(dir: string, name: string, rows: string[][], order = 'SEQUENTIAL'): string {
  const path = join(dir, name);
  writeFileSync(path, `${[order, ...rows.map((r) => r.join(';'))].join('\n')}\n`);
  return path;
}

function buildArgs(o: SippOptions, host: string, port: number, dir: string): string[] {
  const args: string[] = [];
  if (o.remote) args.push(o.remote);
  args.push('-sf', repoPath(o.scenario), '-i', host, '-p', String(port), '-t', o.transport ?? 'u1');
  args.push('-nostdin', '-timeout', `${o.timeoutS}s`, '-timeout_error');
  args.push('-trace_msg', '-message_file', join(dir, 'messages.log'));
  args.push('-trace_err', '-error_file', join(dir, 'errors.log'));
  if (o.calls !== undefined) args.push('-m', String(o.calls));
  if (o.rate !== undefined) args.push('-r', String(o.rate));
  if (o.service !== undefined) args.push('-s', o.service);
  if (o.injectCsv !== undefined) args.push('-inf', repoPath(o.injectCsv));
  for (const [k, v] of Object.entries(o.keys ?? {})) args.push('-key', k, v);
  args.push(...(o.extraArgs ?? []));
  return args;
}

/** Start SIPp; the handle's `done` resolves on exit. The process is tracked for cleanup. */
export async function runSipp(options: SippOptions): Promise<SippHandle> {
  const host = options.localHost ?? '127.0.0.1';
  const port = options.localPort ?? (await freePort(host));
  const dir = options.tmpDir ?? makeTempDir('sipp');
  const proc = spawn('sipp', buildArgs(options, host, port, dir), {
    cwd: dir,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pid = proc.pid;
  if (pid === undefined) throw new Error(`sipp did not spawn for ${options.scenario}`);
  trackProcess({ name: `sipp ${options.scenario}`, pid, stop: () => terminateGroup(pid, 2_000) });
  let stdout = '';
  let stderr = '';
  proc.stdout?.on('data', (c: Buffer) => (stdout = (stdout + c.toString('utf8')).slice(-1_000_000)));
  proc.stderr?.on('data', (c: Buffer) => (stderr = (stderr + c.toString('utf8')).slice(-1_000_000)));
  let exited = false;
  const killer = setTimeout(() => void terminateGroup(pid, 1_000), (options.timeoutS + 5) * 1000);
  const done = new Promise<SippResult>((resolve) => {
    proc.once('close', (code, signal) => {
      exited = true;
      clearTimeout(killer);
      untrackProcess(pid);
      resolve({ code, signal, stdout, stderr });
    });
  });
  const readBytes = (file: string) => (existsSync(join(dir, file)) ? readFileSync(join(dir, file)) : Buffer.alloc(0));
  const read = (file: string) => readBytes(file).toString('utf8');
  return {
    pid,
    host,
    port,
    tmpDir: dir,
    done,
    async ready(timeoutMs = 5_000) {
      const transport = options.transport === 't1' ? 'tcp' : 'udp';
      const bound = () => isPortBound(port, transport, host);
      // No /proc/net: give SIPp a moment rather than probing the port with a bind of our own.
      if (bound() === undefined && !exited) return letTimePass(300);
      if ((await waitUntil(() => exited || bound() === true, timeoutMs, 25)) && !exited) return;
      throw new Error(`sipp ${options.scenario} not listening on ${host}:${port} (exited: ${exited})\n${stdout.slice(-2000)}${stderr}`);
    },
    async stop() {
      await terminateGroup(pid, 2_000);
      await waitUntil(() => exited, 2_000);
    },
    messagesLog: () => read('messages.log'),
    messages: () => parseSippMessages(readBytes('messages.log')),
    errorsLog: () => read('errors.log'),
  };
}

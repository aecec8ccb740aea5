/**
 * Process registry for integration tests: every real process a harness helper starts is recorded here,
 * so a test file can stop them all in `afterEach`/`afterAll` even when the test failed, and a crashing
 * test worker does not leave Kamailio or SIPp behind (the `exit` hook SIGKILLs what is left).
 *
 * Only processes started by these helpers are ever signalled, by their own pid / process group.
 */
import { afterAll, afterEach, beforeEach } from 'vitest';
import { waitUntil } from './poll.js';

/** Something the harness started and knows how to stop. */
export interface TrackedProcess {
  readonly name: string;
  readonly pid: number;
  /** Stop gracefully, then forcefully; resolves when the process (group) is gone. */
  stop(): Promise<void>;
}

const live = new Map<number, TrackedProcess>();
/** Start order of each live process, so per-test cleanup spares what `beforeAll` started. */
const startSeq = new Map<number, number>();
let seq = 0;

/**
 * Record a started process. Helpers call this right after spawn. `startedAs` (from
 * {@link processStartSeq}) keeps a restarted process in the scope of the one it replaces.
 */
export function trackProcess(proc: TrackedProcess, startedAs?: number): void {
  live.set(proc.pid, proc);
  startSeq.set(proc.pid, startedAs ?? ++seq);
}

/** The start sequence number of a tracked pid (undefined once untracked). */
export function processStartSeq(pid: number): number | undefined {
  return startSeq.get(pid);
}

/** Forget a process that has exited. */
export function untrackProcess(pid: number): void {
  live.delete(pid);
  startSeq.delete(pid);
}

/** Processes still running (for diagnostics). */
export function trackedProcesses(): TrackedProcess[] {
  return [...live.values()];
}

/** Stop every tracked process; never throws (errors are logged), so cleanup hooks always finish. */
export async function stopAllProcesses(): Promise<void> {
  await stopProcessesStartedAfter(0);
}

/** Stop the tracked processes started after mark `after` (see {@link processMark}); never throws. */
export async function stopProcessesStartedAfter(after: number): Promise<void> {
  const all = [...live.values()].filter((p) => (startSeq.get(p.pid) ?? 0) > after);
  await Promise.all(
    all.map(async (proc) => {
      try {
        await proc.stop();
      } catch (err) {
        console.warn(`harness: stopping ${proc.name} (pid ${proc.pid}) failed: ${String(err)}`);
      } finally {
        untrackProcess(proc.pid);
      }
    }),
  );
}

/** A mark for {@link stopProcessesStartedAfter}: processes started from now on are "after" it. */
export function processMark(): number {
  return seq;
}

/**
 * Register vitest hooks: after each test, stop what that test started (`scope: 'each'`, the default;
 * what `beforeAll` started survives), and after the file stop everything. With `'all'`, only the
 * after-file stop. Call it at the top of a file or inside a `describe`.
 */
export function useProcessCleanup(scope: 'each' | 'all' = 'each'): void {
  if (scope === 'each') {
    let mark = 0;
    beforeEach(() => {
      mark = processMark();
    });
    afterEach(() => stopProcessesStartedAfter(mark));
  }
  afterAll(stopAllProcesses);
}

/** Send `signal` to the process group led by `pid` (the helpers spawn with `detached: true`). */
export function signalGroup(pid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    try {
      process.kill(pid, signal);
      return true;
    } catch {
      return false;
    }
  }
}

/** True while the process `pid` itself exists (signal 0: a check, nothing is sent). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** True while any process of the group led by `pid` (or `pid` itself) exists. */
export function groupAlive(pid: number): boolean {
  return signalGroup(pid, 0);
}

/**
 * Terminate a process group: SIGTERM, wait up to `graceMs`, then SIGKILL and wait up to 2 s more.
 * Resolves once nothing of the group is left (or the last wait ran out).
 */
export async function terminateGroup(pid: number, graceMs = 5_000): Promise<void> {
  if (!groupAlive(pid)) return;
  signalGroup(pid, 'SIGTERM');
  if (await waitUntil(() => !groupAlive(pid), graceMs)) return;
  signalGroup(pid, 'SIGKILL');
  await waitUntil(() => !groupAlive(pid), 2_000);
}

/** Poll `condition` every 20 ms until true or `timeoutMs` passed; returns the last result. */

process.on('exit', () => {
  for (const pid of live.keys()) signalGroup(pid, 'SIGKILL');
});

/**
 * Process registry for integration tests: every real process a harness helper starts is recorded here,
 * so a test file can stop them all in `afterEach`/`afterAll` even when the test failed, and a crashing
 * test worker does not leave Kamailio or SIPp behind (the `exit` hook SIGKILLs what is left).
 *
 * Only processes started by these helpers are ever signalled, by their own pid / process group.
 */
import { afterAll, afterEach } from 'vitest';

/** Something the harness started and knows how to stop. */
export interface TrackedProcess {
  readonly name: string;
  readonly pid: number;
  /** Stop gracefully, then forcefully; resolves when the process (group) is gone. */
  stop(): Promise<void>;
}

const live = new Map<number, TrackedProcess>();

/** Record a started process. Helpers call this right after spawn. */
export function trackProcess(proc: TrackedProcess): void {
  live.set(proc.pid, proc);
}

/** Forget a process that has exited. */
export function untrackProcess(pid: number): void {
  live.delete(pid);
}

/** Processes still running (for diagnostics). */
export function trackedProcesses(): TrackedProcess[] {
  return [...live.values()];
}

/** Stop every tracked process; never throws (errors are logged), so cleanup hooks always finish. */
export async function stopAllProcesses(): Promise<void> {
  const all = [...live.values()];
  await Promise.all(
    all.map(async (proc) => {
      try {
        await proc.stop();
      } catch (err) {
        console.warn(`harness: stopping ${proc.name} (pid ${proc.pid}) failed: ${String(err)}`);
      } finally {
        live.delete(proc.pid);
      }
    }),
  );
}

/**
 * Register vitest hooks that stop every tracked process after each test (`scope: 'each'`, the default)
 * or after the file (`'all'`, for a Kamailio shared by a file's tests). Call it at the top of a file or
 * inside a `describe`.
 */
export function useProcessCleanup(scope: 'each' | 'all' = 'each'): void {
  if (scope === 'each') afterEach(stopAllProcesses);
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
export async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (condition()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return condition();
}

process.on('exit', () => {
  for (const pid of live.keys()) signalGroup(pid, 'SIGKILL');
});

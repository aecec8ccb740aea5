/**
 * Polling helpers for tests that wait on state they can read without traffic (the store, the table,
 * counters). Every wait is bounded; none sleeps longer than it has to.
 */

/** Polls `condition` until it holds or `timeoutMs` passes; resolves with its last value. */
export async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (condition()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return condition();
}

/** Like {@link waitUntil}, but rejects naming `what` when the time is up (for preconditions of a test). */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  if (!(await waitUntil(condition, timeoutMs))) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** Polls `probe` until `accept` holds for its value or `timeoutMs` passes; resolves with the last value. */
export async function eventually<T>(probe: () => T, accept: (value: T) => boolean, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = probe();
  while (!accept(last) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
    last = probe();
  }
  return last;
}

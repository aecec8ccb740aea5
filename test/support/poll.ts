/**
 * Waiting in tests: on a condition, never on a guess. Every wait here is bounded and polls a state the
 * test can read (the store, the table, counters, an HTTP endpoint, a child's output); none sleeps longer
 * than it has to. Conditions and probes may be synchronous or return a promise (an HTTP probe); a probe is
 * never started again before the previous one has answered.
 *
 * The one helper that does sleep, {@link letTimePass}, is for time that is itself the behaviour under test.
 */

/** How often a condition is looked at unless the caller says otherwise (ms). */
export const POLL_INTERVAL_MS = 20;

const pause = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `condition` until it holds or `timeoutMs` passes; resolves with its last value. */
export async function waitUntil(
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
  intervalMs = POLL_INTERVAL_MS,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return true;
    await pause(intervalMs);
  }
  return condition();
}

/** Like {@link waitUntil}, but rejects naming `what` when the time is up (for preconditions of a test). */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 5000,
  intervalMs = POLL_INTERVAL_MS,
): Promise<void> {
  if (!(await waitUntil(condition, timeoutMs, intervalMs))) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/**
 * Polls `probe` until `accept` holds for its value or `timeoutMs` passes; resolves with the last value, so
 * the test asserts on what it saw (a failed wait shows the value instead of just "timed out").
 */
export async function eventually<T>(
  probe: () => T | Promise<T>,
  accept: (value: T) => boolean,
  timeoutMs = 5000,
  intervalMs = POLL_INTERVAL_MS,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = await probe();
  while (!accept(last) && Date.now() < deadline) {
    await pause(intervalMs);
    last = await probe();
  }
  return last;
}

/**
 * Lets `ms` pass on purpose. Only for time that is the behaviour under test — a fault that lasts 1.5 s,
 * "nothing more arrives within 200 ms", a sender that pauses mid-request, the pacing of a load — never to
 * wait for something to happen (use {@link waitUntil} / {@link eventually} for that). Say at the call why
 * the time itself matters.
 */
export function letTimePass(ms: number): Promise<void> {
  return pause(Math.max(0, ms));
}

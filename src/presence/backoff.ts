/**
 * Resubscription delays: capped exponential backoff with "equal jitter" (half fixed, half random), so a
 * presence server that drops every subscription at once (restart, failover) is not hit by a synchronised
 * wave of SUBSCRIBEs. A `retry-after` from the server (RFC 6665 §4.1.3, Retry-After on 503/480) is a floor.
 */
export interface BackoffSettings {
  /** Delay before the first retry (before jitter). */
  baseMs: number;
  /** Cap on the delay (before `retry-after`). */
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffSettings = { baseMs: 1000, maxMs: 300_000 };

/**
 * @param attempt 0 for the first retry after a failure, 1 for the next, ...
 * @param random a source of [0, 1) (tests pin it)
 */
export function backoffDelayMs(attempt: number, settings: BackoffSettings, random: () => number = Math.random, retryAfterSeconds?: number): number {
  const ceiling = Math.min(settings.maxMs, settings.baseMs * 2 ** Math.min(attempt, 30));
  const jittered = Math.round(ceiling / 2 + (random() * ceiling) / 2);
  return Math.max(jittered, (retryAfterSeconds ?? 0) * 1000);
}

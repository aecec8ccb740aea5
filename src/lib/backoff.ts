/**
 * Retry spacing, one rule for every retry loop in the agent (presence resubscription, drachtio reconnect,
 * outbox POSTs): capped exponential backoff with jitter. Jitter spreads the retries of many loops that
 * failed together (a presence server or PPG restart drops everything at once), so they do not all return
 * in one synchronised wave. A server's `Retry-After` (RFC 6665 §4.1.3 on 503/480; RFC 3261 §20.33) is a
 * floor, never shortened by jitter.
 */
export interface BackoffPolicy {
  /** Delay after the first failure (before jitter). */
  baseMs: number;
  /** Ceiling for any delay (before a `Retry-After` floor). */
  maxMs: number;
  /**
   * Share of each delay that is randomised, 0..1: the delay is drawn from `[d·(1−jitter), d]`. Default
   * 0.5 ("equal jitter": half fixed, half random).
   */
  jitter?: number;
}

/** Presence resubscription and drachtio reconnect defaults. */
export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 1000, maxMs: 300_000 };

/**
 * Delay before the next attempt after `failures` failed ones (≥ 1): `min(maxMs, baseMs·2^(failures−1))`,
 * jittered down (a draw of 0 gives the lowest delay), then raised to `floorMs`. Pure: `random` (a source of [0, 1)) is injectable for tests.
 */
export function backoffDelay(policy: BackoffPolicy, failures: number, random: () => number = Math.random, floorMs = 0): number {
  const exponent = Math.min(Math.max(failures - 1, 0), 52);
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** exponent);
  const jitter = Math.min(Math.max(policy.jitter ?? 0.5, 0), 1);
  return Math.max(0, Math.round(ceiling * (1 - jitter + jitter * random())), floorMs);
}

/** Retry spacing for outbox POSTs. */
export interface BackoffPolicy {
  /** Delay after the first failure. */
  baseMs: number;
  /** Ceiling for any delay. */
  maxMs: number;
  /**
   * Share of each delay that is randomised, 0..1: the delay is drawn from `[d·(1−jitter), d]`. Spreads
   * the retries of many items failing together (a PPG restart) so they do not all return at once.
   */
  jitter: number;
}

/**
 * Delay before the next attempt after `failures` failed ones (≥ 1): `min(maxMs, baseMs·2^(failures−1))`,
 * then jittered down. Pure: `random` is injectable for tests. Never above `maxMs`, never below 0.
 */
export function backoffDelay(policy: BackoffPolicy, failures: number, random: () => number = Math.random): number {
  const exponent = Math.min(Math.max(failures - 1, 0), 52);
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** exponent);
  const jitter = Math.min(Math.max(policy.jitter, 0), 1);
  return Math.max(0, Math.round(ceiling * (1 - jitter * random())));
}

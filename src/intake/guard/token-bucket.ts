/**
 * Per-PI rate limit (config `intake.rateLimit`): one token bucket per key, refilled at `perSecond` up to
 * `burst`. Keys live in an LRU bounded by `maxKeys`, so a flood of distinct callers cannot grow memory;
 * an evicted key simply starts again with a full bucket.
 */
import { LRUCache } from 'lru-cache';

export interface TokenBucketOptions {
  perSecond: number;
  burst: number;
  maxKeys?: number;
  now?: () => number;
}

export type TakeResult = { ok: true } | { ok: false; retryAfterSeconds: number };

interface Bucket {
  tokens: number;
  at: number;
}

export class TokenBucketLimiter {
  private readonly buckets: LRUCache<string, Bucket>;
  private readonly now: () => number;

  constructor(private readonly options: TokenBucketOptions) {
    this.buckets = new LRUCache<string, Bucket>({ max: options.maxKeys ?? 10_000 });
    this.now = options.now ?? Date.now;
  }

  /** Takes one token for `key`; when empty, says how long until the next one (whole seconds, ≥ 1). */
  take(key: string): TakeResult {
    const now = this.now();
    const { perSecond, burst } = this.options;
    const bucket = this.buckets.get(key) ?? { tokens: burst, at: now };
    bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) / 1000) * perSecond);
    bucket.at = now;
    this.buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { ok: true };
    }
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / perSecond)) };
  }
}

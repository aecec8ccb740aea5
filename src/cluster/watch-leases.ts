/**
 * Cluster mode's "who watches whom", held in Redis: a member list with heartbeats and one lease per
 * watched user. The lease is the truth — an agent keeps a user's presence SUBSCRIBE dialog only while it
 * holds that user's lease, so two agents never both watch one user however their views of the member list
 * differ for a moment. Leases expire by themselves (Redis `PX`), so the users of an agent that died are
 * free again after one lease period; renewal and release are compare-and-delete scripts so an agent that
 * was paused past its lease cannot renew or drop a lease another agent has taken since.
 *
 * Keys (all under one prefix, `spa:` by default): `members` — sorted set, member = instance id, score =
 * heartbeat expiry (ms since the epoch); `watched` — sorted set of the AORs the cluster wants watched,
 * score = when last wanted; `watch:<aor>` — the lease, value = holder's instance id.
 */
import type { Redis } from 'ioredis';

export interface WatchLeaseOptions {
  redis: Redis;
  /** This agent's id in the cluster (unique per live process). */
  instanceId: string;
  /** How long a lease or a heartbeat lives without renewal. */
  leaseMs: number;
  prefix?: string;
  now?: () => number;
}

/** Renew each key only if we still hold it; returns 1/0 per key (Redis Lua, atomic per call). */
const RENEW = `local out = {}
for i, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then redis.call('PEXPIRE', key, ARGV[2]); out[i] = 1 else out[i] = 0 end
end
return out`;

/** Delete each key only if we still hold it. */
const RELEASE = `local n = 0
for _, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then redis.call('DEL', key); n = n + 1 end
end
return n`;

/** Keys per script call or pipeline: bounds one round trip's size and Redis's time inside one script. */
const BATCH = 500;

function batches<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += BATCH) out.push(items.slice(i, i + BATCH));
  return out;
}

export class WatchLeases {
  readonly instanceId: string;
  private readonly redis: Redis;
  private readonly leaseMs: number;
  private readonly prefix: string;
  private readonly now: () => number;

  constructor(options: WatchLeaseOptions) {
    this.redis = options.redis;
    this.instanceId = options.instanceId;
    this.leaseMs = options.leaseMs;
    this.prefix = options.prefix ?? 'spa:';
    this.now = options.now ?? Date.now;
  }

  private leaseKey(aor: string): string {
    return `${this.prefix}watch:${aor}`;
  }

  /** Announce this member alive for one lease period and drop members whose heartbeat lapsed. */
  async heartbeat(): Promise<void> {
    const now = this.now();
    await this.redis
      .multi()
      .zadd(`${this.prefix}members`, now + this.leaseMs, this.instanceId)
      .zremrangebyscore(`${this.prefix}members`, '-inf', now)
      .exec();
  }

  /** Live members (heartbeat not lapsed), sorted. */
  async members(): Promise<string[]> {
    const ids = await this.redis.zrangebyscore(`${this.prefix}members`, this.now(), '+inf');
    return ids.sort();
  }

  /** Leave the member list at once (clean shutdown), so the others take over without waiting a lease. */
  async leave(): Promise<void> {
    await this.redis.zrem(`${this.prefix}members`, this.instanceId);
  }

  /** Mark users wanted watched by the cluster (any agent that receives a push for them calls this). */
  async want(aors: readonly string[]): Promise<void> {
    const now = this.now();
    for (const part of batches(aors)) {
      await this.redis.zadd(`${this.prefix}watched`, ...part.flatMap((aor) => [String(now), aor]));
    }
  }

  /** Users no longer wanted (evicted from every agent's interest). */
  async unwant(aors: readonly string[]): Promise<void> {
    for (const part of batches(aors)) await this.redis.zrem(`${this.prefix}watched`, ...part);
  }

  /** The AORs the cluster wants watched. */
  async wanted(): Promise<string[]> {
    return this.redis.zrange(`${this.prefix}watched`, '0', '-1');
  }

  /** Take the leases that are free; returns the AORs now held by this agent. */
  async acquire(aors: readonly string[]): Promise<string[]> {
    const held: string[] = [];
    for (const part of batches(aors)) {
      const pipe = this.redis.pipeline();
      for (const aor of part) pipe.set(this.leaseKey(aor), this.instanceId, 'PX', this.leaseMs, 'NX');
      const results = (await pipe.exec()) ?? [];
      part.forEach((aor, i) => {
        if (results[i]?.[1] === 'OK') held.push(aor);
      });
    }
    return held;
  }

  /** Extend the leases still ours; returns the AORs we lost (taken over after a pause, or expired). */
  async renew(aors: readonly string[]): Promise<string[]> {
    const lost: string[] = [];
    for (const part of batches(aors)) {
      const flags = (await this.redis.eval(
        RENEW,
        part.length,
        ...part.map((a) => this.leaseKey(a)),
        this.instanceId,
        this.leaseMs,
      )) as number[];
      part.forEach((aor, i) => {
        if (flags[i] !== 1) lost.push(aor);
      });
    }
    return lost;
  }

  /** Give leases back (after the dialog is gone), so the new owner need not wait for them to lapse. */
  async release(aors: readonly string[]): Promise<number> {
    let n = 0;
    for (const part of batches(aors)) {
      n += (await this.redis.eval(RELEASE, part.length, ...part.map((a) => this.leaseKey(a)), this.instanceId)) as number;
    }
    return n;
  }

  /** Who holds a user's lease, if anyone. */
  async holderOf(aor: string): Promise<string | null> {
    return this.redis.get(this.leaseKey(aor));
  }
}

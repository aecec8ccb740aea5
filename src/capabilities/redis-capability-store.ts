/**
 * A {@link CapabilityStore} shared by every agent of a cluster through Redis. Its synchronous face is an
 * in-process near cache (the {@link MemoryCapabilityStore}); every write goes behind to Redis
 * (`SET spa:cap:<aor> <entry> PX <remaining>`, so an entry expires in Redis by the same TTL rule as in the
 * table), and `prefetch` — which the oracle awaits before every decision — reads the user's entry back
 * from Redis. So presence seen by agent A, or a delivery outcome or hold-down recorded by A, decides a push
 * at agent B one Redis round trip later.
 *
 * Staleness is bounded and stated: a decision sees Redis as of its own prefetch; writes are last-writer-
 * wins per user (two agents recording evidence for the same user within one round trip may overwrite each
 * other's newest field — the next NOTIFY or delivery outcome writes it again).
 *
 * Redis down or slow: a prefetch gives up after `prefetchTimeoutMs` and the decision uses what this agent
 * holds (its own evidence, else the profile's "unknown" rules); a failed write is counted and dropped (the
 * entry is a hint with a TTL, the next evidence writes it again). Nothing here can fail a push.
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { countInternalError } from '../lib/internal-errors.js';
import { silentLogger } from '../lib/logger.js';
import type { CapabilityEntry } from './capability-entry.js';
import type { CapabilityStore, EvictionReason } from './capability-store.js';
import { MemoryCapabilityStore } from './memory-capability-store.js';

export interface RedisCapabilityStoreOptions {
  redis: Redis;
  /** Near-cache capacity (this agent's share of interest; Redis holds everyone's). */
  capacity: number;
  prefix?: string;
  /** How long a decision waits for Redis before using what this agent holds. */
  prefetchTimeoutMs?: number;
  now?: () => number;
  logger?: Logger;
}

interface Stored {
  entry: CapabilityEntry;
  expiresAt: number;
}

export class RedisCapabilityStore implements CapabilityStore {
  readonly capacity: number;
  private readonly near: MemoryCapabilityStore;
  private readonly redis: Redis;
  private readonly prefix: string;
  private readonly prefetchTimeoutMs: number;
  private readonly now: () => number;
  private readonly log: Logger;
  private readonly pending = new Set<Promise<unknown>>();

  constructor(options: RedisCapabilityStoreOptions) {
    this.capacity = options.capacity;
    this.redis = options.redis;
    this.prefix = options.prefix ?? 'spa:cap:';
    this.prefetchTimeoutMs = options.prefetchTimeoutMs ?? 50;
    this.now = options.now ?? Date.now;
    this.log = (options.logger ?? silentLogger()).child({ component: 'redis-capability-store' });
    this.near = new MemoryCapabilityStore({ capacity: options.capacity, now: this.now });
  }

  get size(): number {
    return this.near.size;
  }

  get(aor: string): CapabilityEntry | undefined {
    return this.near.get(aor);
  }

  peek(aor: string): CapabilityEntry | undefined {
    return this.near.peek(aor);
  }

  set(aor: string, entry: CapabilityEntry, expiresAt: number): void {
    this.near.set(aor, entry, expiresAt);
    const ttl = expiresAt - this.now();
    if (ttl <= 0) return;
    const body: Stored = { entry, expiresAt };
    this.track(this.redis.set(this.prefix + aor, JSON.stringify(body), 'PX', ttl), 'write');
  }

  delete(aor: string): boolean {
    this.track(this.redis.del(this.prefix + aor), 'delete');
    return this.near.delete(aor);
  }

  entries(): IterableIterator<[string, CapabilityEntry]> {
    return this.near.entries();
  }

  onEvict(listener: (aor: string, reason: EvictionReason) => void): () => void {
    return this.near.onEvict(listener);
  }

  /** Read the user's shared entry into the near cache, unless what this agent holds is newer. */
  async prefetch(aor: string): Promise<void> {
    let raw: string | null;
    try {
      raw = await withTimeout(this.redis.get(this.prefix + aor), this.prefetchTimeoutMs);
    } catch (err) {
      countInternalError('capability-store.prefetch', err, this.log);
      return;
    }
    if (raw === null) return;
    let stored: Stored;
    try {
      stored = JSON.parse(raw) as Stored;
    } catch (err) {
      countInternalError('capability-store.decode', err, this.log);
      return;
    }
    const mine = this.near.peek(aor);
    if (mine && mine.updatedAt >= stored.entry.updatedAt) return;
    if (stored.expiresAt <= this.now()) return;
    this.near.set(aor, stored.entry, stored.expiresAt);
  }

  /** Resolves when every write issued so far has reached Redis (or failed and been counted). */
  async flush(): Promise<void> {
    await Promise.all([...this.pending]);
  }

  private track(op: Promise<unknown>, what: string): void {
    const p = op.catch((err) => countInternalError(`capability-store.${what}`, err, this.log)).finally(() => this.pending.delete(p));
    this.pending.add(p);
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer from Redis within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

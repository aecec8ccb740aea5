/**
 * The in-process {@link CapabilityStore}: an LRU (lru-cache v11) with a TTL per entry, on an injectable
 * clock. Expiry is noticed on `get` (lru-cache drops a stale entry when it is read) and on capacity
 * pressure; nothing runs in the background.
 */
import { LRUCache } from 'lru-cache';
import type { CapabilityEntry } from './capability-entry.js';
import type { CapabilityStore, EvictionReason } from './capability-store.js';

export interface MemoryCapabilityStoreOptions {
  capacity: number;
  now?: () => number;
}

export class MemoryCapabilityStore implements CapabilityStore {
  readonly capacity: number;
  private readonly cache: LRUCache<string, CapabilityEntry>;
  private readonly now: () => number;
  private readonly listeners = new Set<(aor: string, reason: EvictionReason) => void>();

  constructor(options: MemoryCapabilityStoreOptions) {
    this.capacity = options.capacity;
    this.now = options.now ?? Date.now;
    this.cache = new LRUCache<string, CapabilityEntry>({
      max: options.capacity,
      ttlAutopurge: false,
      ttlResolution: 0,
      updateAgeOnGet: false,
      // Any positive default: every set() passes the entry's own ttl.
      ttl: 1,
      perf: { now: () => this.now() },
      dispose: (_entry, aor, reason) => this.onDispose(aor, reason),
    });
  }

  get size(): number {
    return this.cache.size;
  }

  get(aor: string): CapabilityEntry | undefined {
    return this.cache.get(aor);
  }

  peek(aor: string): CapabilityEntry | undefined {
    return this.cache.peek(aor);
  }

  set(aor: string, entry: CapabilityEntry, expiresAt: number): void {
    // lru-cache keeps an entry while its age <= ttl; "gone at expiresAt" is hence ttl = remaining - 1.
    this.cache.set(aor, entry, { ttl: Math.max(1, expiresAt - this.now() - 1) });
  }

  delete(aor: string): boolean {
    return this.cache.delete(aor);
  }

  entries(): IterableIterator<[string, CapabilityEntry]> {
    // Most recent first, expired entries left out (lru-cache skips stale ones unless allowStale).
    return this.cache.entries();
  }

  onEvict(listener: (aor: string, reason: EvictionReason) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private onDispose(aor: string, reason: LRUCache.DisposeReason): void {
    const mapped: EvictionReason | undefined =
      reason === 'evict' ? 'capacity' : reason === 'expire' ? 'expired' : reason === 'delete' ? 'deleted' : undefined;
    if (mapped === undefined) return;
    for (const listener of this.listeners) listener(aor, mapped);
  }
}

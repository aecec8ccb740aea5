/**
 * The in-process {@link CapabilityStore}: entries in an {@link EntrySlab} (typed-array columns, one slot
 * per user), found through one Map from AOR to slot, kept in least-recently-used order by a doubly linked
 * list of slot numbers in two Int32Arrays, each with its expiry instant in a Float64Array; all on an
 * injectable clock. Expiry is noticed on `get` and on capacity pressure; nothing runs in the background.
 *
 * Why not an object per entry (an LRU library over CapabilityEntry objects): at 100k–1M watched users
 * the fixed V8 cost of objects, boxed numbers and pointers was most of the agent's heap (about 550 B per
 * entry against about 250 B here; docs/benchmarks.md). The slab grows with the number of users held, by
 * half again each time, never beyond `capacity`; slots of removed entries are reused.
 */
import type { CapabilityEntry } from './capability-entry.js';
import type { CapabilityStore, EvictionReason } from './capability-store.js';
import { EntrySlab } from './entry-slab.js';

export interface MemoryCapabilityStoreOptions {
  capacity: number;
  now?: () => number;
}

const NONE = -1;
const FIRST_SLOTS = 1024;

export class MemoryCapabilityStore implements CapabilityStore {
  readonly capacity: number;
  private readonly now: () => number;
  private readonly listeners = new Set<(aor: string, reason: EvictionReason) => void>();
  private readonly slotOf = new Map<string, number>();
  private readonly slab = new EntrySlab();
  private aors: Array<string | undefined> = [];
  private expiresAt = new Float64Array(0);
  /** LRU order: `newer[s]` is the slot used next after `s`; head = most recent, tail = least recent. */
  private newer = new Int32Array(0);
  private older = new Int32Array(0);
  private head = NONE;
  private tail = NONE;
  /** Slots never used yet start at `used`; freed ones are chained through `older`. */
  private used = 0;
  private freeList = NONE;

  constructor(options: MemoryCapabilityStoreOptions) {
    if (!Number.isInteger(options.capacity) || options.capacity < 1) throw new RangeError('capacity must be a positive integer');
    this.capacity = options.capacity;
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    return this.slotOf.size;
  }

  get(aor: string): CapabilityEntry | undefined {
    const slot = this.slotOf.get(aor);
    if (slot === undefined) return undefined;
    if (this.expired(slot)) {
      this.remove(aor, slot);
      this.emit(aor, 'expired');
      return undefined;
    }
    this.toHead(slot);
    return this.slab.read(slot, aor);
  }

  peek(aor: string): CapabilityEntry | undefined {
    const slot = this.slotOf.get(aor);
    if (slot === undefined || this.expired(slot)) return undefined;
    return this.slab.read(slot, aor);
  }

  set(aor: string, entry: CapabilityEntry, expiresAt: number): void {
    let slot = this.slotOf.get(aor);
    let evicted: string | undefined;
    if (slot === undefined) {
      // Like the LRU it replaces: at capacity the least recently used entry leaves, expired or not.
      if (this.slotOf.size >= this.capacity && this.tail !== NONE) {
        const tail = this.tail;
        evicted = this.aors[tail] as string;
        this.remove(evicted, tail);
      }
      slot = this.allocate();
      this.slotOf.set(aor, slot);
      this.aors[slot] = aor;
      this.linkAtHead(slot);
    } else {
      this.toHead(slot);
    }
    this.slab.write(slot, entry);
    this.expiresAt[slot] = expiresAt;
    if (evicted !== undefined) this.emit(evicted, 'capacity');
  }

  delete(aor: string): boolean {
    const slot = this.slotOf.get(aor);
    if (slot === undefined) return false;
    this.remove(aor, slot);
    this.emit(aor, 'deleted');
    return true;
  }

  *entries(): IterableIterator<[string, CapabilityEntry]> {
    // Most recent first, expired entries left out; bounded by the slots in use even if the caller reorders.
    let slot = this.head;
    for (let steps = 0; slot !== NONE && steps < this.used; steps++) {
      const next = this.older[slot];
      const aor = this.aors[slot];
      if (aor !== undefined && !this.expired(slot)) yield [aor, this.slab.read(slot, aor)];
      slot = next;
    }
  }

  onEvict(listener: (aor: string, reason: EvictionReason) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private expired(slot: number): boolean {
    return this.now() >= this.expiresAt[slot];
  }

  /** Unlinks and frees a slot (listeners are told by the caller, once the store is consistent again). */
  private remove(aor: string, slot: number): void {
    this.slotOf.delete(aor);
    this.unlink(slot);
    this.slab.clear(slot);
    this.aors[slot] = undefined;
    this.older[slot] = this.freeList;
    this.freeList = slot;
  }

  private emit(aor: string, reason: EvictionReason): void {
    for (const listener of this.listeners) listener(aor, reason);
  }

  private allocate(): number {
    if (this.freeList !== NONE) {
      const slot = this.freeList;
      this.freeList = this.older[slot];
      return slot;
    }
    if (this.used === this.slab.length) this.grow();
    return this.used++;
  }

  private grow(): void {
    const n = Math.min(this.capacity, Math.max(FIRST_SLOTS, Math.ceil(this.slab.length * 1.5)));
    this.slab.grow(n);
    const expiresAt = new Float64Array(n);
    expiresAt.set(this.expiresAt);
    this.expiresAt = expiresAt;
    const newer = new Int32Array(n);
    newer.set(this.newer);
    this.newer = newer;
    const older = new Int32Array(n);
    older.set(this.older);
    this.older = older;
    const aors = new Array<string | undefined>(n);
    for (let i = 0; i < this.aors.length; i++) aors[i] = this.aors[i];
    this.aors = aors;
  }

  private toHead(slot: number): void {
    if (slot === this.head) return;
    this.unlink(slot);
    this.linkAtHead(slot);
  }

  private linkAtHead(slot: number): void {
    this.newer[slot] = NONE;
    this.older[slot] = this.head;
    if (this.head !== NONE) this.newer[this.head] = slot;
    this.head = slot;
    if (this.tail === NONE) this.tail = slot;
  }

  private unlink(slot: number): void {
    const newer = this.newer[slot];
    const older = this.older[slot];
    if (newer !== NONE) this.older[newer] = older;
    else this.head = older;
    if (older !== NONE) this.newer[older] = newer;
    else this.tail = newer;
  }
}

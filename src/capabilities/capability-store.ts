/**
 * The `CapabilityStore` port: where capability entries live. The table (capability-table.ts) owns the
 * rules — what evidence counts, for how long, hold-downs, attribution — and computes for every write the
 * instant the entry stops mattering; a store only keeps entries until then, bounds them by capacity, and
 * says why one left. The in-process LRU (memory-capability-store.ts) is one implementation; every
 * implementation must pass test/contract/capability-store.contract.ts.
 *
 * Synchronous on purpose: the table is read for every push and written for every NOTIFY and MESSAGE
 * outcome, and entries are *hints with a TTL* — losing one costs at most a fresh NOTIFY wait. A network
 * store (Redis, shared between instances) therefore keeps an in-process near cache as its synchronous
 * face and writes behind to the network; the one place that must wait for the network is reading a user
 * this instance has not seen, for which the oracle awaits {@link CapabilityStore.prefetch} before it
 * decides. `flush` lets shutdown wait for writes still on their way.
 */
import type { CapabilityEntry } from './capability-entry.js';

/** Why an entry left the store: capacity (least recently used first), its expiry, or `delete()`. */
export type EvictionReason = 'capacity' | 'expired' | 'deleted';

export interface CapabilityStore {
  /** Most entries held at once. */
  readonly capacity: number;
  /** Entries held now (may include expired ones not yet noticed). */
  readonly size: number;
  /** The entry when held and not expired; an expired one is dropped (reason `expired`) and undefined returned. */
  get(aor: string): CapabilityEntry | undefined;
  /** Like `get`, without any side effect (no expiry noticed, recency unchanged). */
  peek(aor: string): CapabilityEntry | undefined;
  /**
   * Stores `entry` (most recently used) until `expiresAt` (ms since the epoch, exclusive: at that instant it
   * is gone). At capacity the least recently used entry leaves first (reason `capacity`).
   */
  set(aor: string, entry: CapabilityEntry, expiresAt: number): void;
  /** Removes an entry (reason `deleted`); false when none was held. */
  delete(aor: string): boolean;
  /** Live entries, most recently used first (the admin listing). */
  entries(): IterableIterator<[string, CapabilityEntry]>;
  /** Adds a listener for entries leaving; returns a remover. */
  onEvict(listener: (aor: string, reason: EvictionReason) => void): () => void;
  /** Network stores: load `aor` into the synchronous face before a decision. In-process stores omit it. */
  prefetch?(aor: string): Promise<void>;
  /** Network stores: resolves when every write so far reached the network. */
  flush?(): Promise<void>;
}

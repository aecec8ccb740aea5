/**
 * The per-user capability table (step 2 of a push: what do we know about this user?): {@link CapabilityEntry}s in a
 * {@link CapabilityStore} (default: the in-process LRU), fed by the watchers through the {@link EvidenceSink} port
 * and by the outcomes of our own MESSAGEs, read by the push path through capability-oracle.ts.
 *
 * The table is a *hint with a TTL* (stale reachability is the most reported failure of SIP servers: docs/interop.md):
 * - every piece of evidence counts for `capabilities.ttlSeconds`; expired evidence counts as unknown, never
 *   as its old state; the LRU entry itself lives until its newest evidence (or hold-down) expires;
 * - an empty NOTIFY after a good document keeps the document until the document's TTL (no flapping on
 *   body-less PUBLISH refreshes, docs/interop.md); a user who never published stays unknown;
 * - a presence document lifts a hold-down only when it is *new*: its digest differs from the last
 *   document seen, and any `<timestamp>` in it is not older than the failure (a refresh NOTIFY re-sends
 *   the old, possibly stale document; see presence-digest.ts). A 2xx to a MESSAGE lifts it too, and so
 *   does an operator (`clearHoldDown`, admin API);
 * - a parse error keeps the last good state and is only counted.
 *
 * Delivery outcomes are classified by `attributeDelivery()` (failure-attribution.ts): 2xx → delivered,
 * hold-down cleared; an outcome that speaks about the user (404/410/480/604, or a timeout while the core
 * was known alive) → failed and held down for `capabilities.holdDownSeconds`; anything blamed on the core
 * (transport errors, 5xx, timeouts while the core was not known alive) or on the request (415, 488, …) →
 * failed, recorded with its blame, no hold-down.
 */
import type { PresenceSnapshot } from './presence-snapshot.js';
import type { SipProfile } from '../profiles/schema.js';
import type { RegistrationEvidence } from './registration-evidence.js';
import {
  entryExpiresAt,
  entryView,
  hasFreshEvidence,
  hasFreshRegistration,
  isNewDocument,
  newEntry,
  policyInput,
  type CapabilityEntry,
  type CapabilityEntryView,
} from './capability-entry.js';
import type { DeliveryReport, ReachabilityVerdict } from './reachability-oracle.js';
import { summarisePresence } from './presence-summary.js';
import { decideFromSources } from './source-policy.js';
import { attributeDelivery } from './failure-attribution.js';

import type { CapabilityStore, EvictionReason } from './capability-store.js';
import type { EvidenceSink } from './evidence-ports.js';
import { MemoryCapabilityStore } from './memory-capability-store.js';

export type { EvictionReason } from './capability-store.js';

export interface CapabilityTableOptions {
  /** Capacity of the default in-process store (ignored when `store` is given). */
  maxUsers: number;
  /** Where entries live; default a {@link MemoryCapabilityStore} of `maxUsers` on the `now` clock. */
  store?: CapabilityStore;
  profile: SipProfile;
  now?: () => number;
  onEvict?: (aor: string, reason: EvictionReason) => void;
}

export interface CapabilityTableStats {
  size: number;
  maxUsers: number;
  hits: number;
  misses: number;
  evictions: number;
  expirations: number;
  deletions: number;
  presenceUpdates: number;
  emptyNotifies: number;
  parseErrors: number;
  deliveriesRecorded: number;
  registrationUpdates: number;
  registrationResyncs: number;
  /** Hold-downs lifted by a new presence document, and by an operator. */
  holdDownsLiftedByPresence: number;
  holdDownsCleared: number;
}

export class CapabilityTable implements EvidenceSink {
  private readonly cache: CapabilityStore;
  private readonly now: () => number;
  private readonly ttlMs: number;
  private readonly evictionListeners = new Set<(aor: string, reason: EvictionReason) => void>();
  private readonly counters = {
    hits: 0,
    misses: 0,
    evictions: 0,
    expirations: 0,
    deletions: 0,
    presenceUpdates: 0,
    emptyNotifies: 0,
    parseErrors: 0,
    deliveriesRecorded: 0,
    registrationUpdates: 0,
    registrationResyncs: 0,
    holdDownsLiftedByPresence: 0,
    holdDownsCleared: 0,
  };

  constructor(private readonly options: CapabilityTableOptions) {
    this.now = options.now ?? Date.now;
    this.ttlMs = options.profile.capabilities.ttlSeconds * 1000;
    if (options.onEvict) this.evictionListeners.add(options.onEvict);
    this.cache = options.store ?? new MemoryCapabilityStore({ capacity: options.maxUsers, now: this.now });
    this.cache.onEvict((aor, reason) => this.onEvicted(aor, reason));
  }

  /** The store's `prefetch` (network stores), awaited before a decision; resolved at once otherwise. */
  async prefetch(aor: string): Promise<void> {
    await this.cache.prefetch?.(aor);
  }

  /** Admin listing: the view of every live entry, most recently used first, at most `limit`. */
  *views(limit = Number.POSITIVE_INFINITY): IterableIterator<CapabilityEntryView> {
    const now = this.now();
    let n = 0;
    for (const [, entry] of this.cache.entries()) {
      if (n++ >= limit) return;
      yield entryView(entry, decideFromSources(policyInput(entry, now, this.ttlMs), this.options.profile), now, this.ttlMs);
    }
  }

  /** Adds a listener for entries leaving the table (the presence watcher unsubscribes); returns a remover. */
  addEvictionListener(listener: (aor: string, reason: EvictionReason) => void): () => void {
    this.evictionListeners.add(listener);
    return () => this.evictionListeners.delete(listener);
  }

  /** The decision for a user (O(1) lookup; counts a hit when fresh evidence exists). */
  decide(aor: string, options: { firstNotifyTimedOut?: boolean } = {}): ReachabilityVerdict {
    const now = this.now();
    const entry = this.cache.get(aor);
    if (entry && hasFreshEvidence(entry, now, this.ttlMs)) this.counters.hits++;
    else this.counters.misses++;
    const input = policyInput(entry, now, this.ttlMs);
    if (options.firstNotifyTimedOut) input.firstNotifyTimedOut = true;
    return decideFromSources(input, this.options.profile);
  }

  /**
   * True when the user has evidence that still counts (drops the entry when it all expired).
   * `countRegistration: false` leaves the registration state out (the presence watcher's question).
   */
  isFresh(aor: string, countRegistration = true): boolean {
    const entry = this.cache.get(aor);
    return entry !== undefined && hasFreshEvidence(entry, this.now(), this.ttlMs, countRegistration);
  }

  /** True when the user has registration state that counts (fresh, no gap being resynchronised). */
  hasFreshRegistration(aor: string): boolean {
    const entry = this.cache.peek(aor);
    return entry !== undefined && hasFreshRegistration(entry, this.now(), this.ttlMs);
  }

  /** A reg NOTIFY was applied (RFC 3680): its state replaces the last one and ends any resync. */
  recordRegistration(aor: string, evidence: RegistrationEvidence): void {
    this.counters.registrationUpdates++;
    this.update(aor, (entry) => {
      entry.lastNotifyAt = evidence.receivedAt;
      entry.lastRegistration = evidence;
      entry.registrationResyncSince = undefined;
    });
  }

  /**
   * Reg NOTIFYs were lost (a version gap, RFC 3680 §5.2): the registration state is not used until a full
   * state arrives (the watcher refreshes the subscription for it).
   */
  recordRegistrationResync(aor: string): void {
    this.counters.registrationResyncs++;
    this.update(aor, (entry, now) => {
      entry.registrationResyncSince ??= now;
    });
  }

  /** Creates an evidence-less entry (a user being subscribed to), so its lifetime is bounded by the LRU. */
  touch(aor: string): void {
    this.update(aor, () => undefined);
  }

  /** A NOTIFY was parsed: a document replaces the last one; an empty one is noted, see the class comment. */
  recordPresence(aor: string, snapshot: PresenceSnapshot): void {
    this.update(aor, (entry) => {
      entry.lastNotifyAt = snapshot.receivedAt;
      if (snapshot.kind === 'empty') {
        this.counters.emptyNotifies++;
        entry.lastEmptyAt = snapshot.receivedAt;
        return;
      }
      this.counters.presenceUpdates++;
      const summary = summarisePresence(snapshot, this.options.profile, aor);
      if (entry.holdDownUntil !== undefined && entry.holdDownUntil > snapshot.receivedAt && isNewDocument(entry, summary)) {
        entry.holdDownUntil = undefined;
        this.counters.holdDownsLiftedByPresence++;
      }
      entry.lastDocument = summary;
      entry.presenceRefusal = undefined;
    });
  }

  /** A NOTIFY body could not be parsed: count it, keep the last good state. */
  recordParseError(aor: string, err: { code?: string; message: string }): void {
    this.counters.parseErrors++;
    this.update(aor, (entry, now) => {
      entry.parseErrors++;
      entry.lastNotifyAt = now;
      entry.lastParseError = { code: err.code ?? 'UNKNOWN', message: err.message.slice(0, 200), at: now };
    });
  }

  /** The presence server refused or ended our subscription for good (RFC 6665 §4.1.3 reasons). */
  recordPresenceRefusal(aor: string, kind: 'rejected' | 'noresource'): void {
    this.update(aor, (entry, now) => {
      entry.presenceRefusal = { kind, at: now };
      // noresource: the presentity no longer exists, so its last document means nothing.
      if (kind === 'noresource') entry.lastDocument = undefined;
    });
  }

  /** The outcome of a MESSAGE to this user, classified by `attributeDelivery`; returns the decision that now applies. */
  recordDelivery(aor: string, result: DeliveryReport): ReachabilityVerdict {
    this.counters.deliveriesRecorded++;
    const attribution = attributeDelivery(result);
    this.update(aor, (entry, now) => {
      const { status } = result;
      if (attribution.blame === 'none') {
        entry.lastDelivery = { outcome: 'delivered', ...(status !== undefined && { status }), blame: 'none', at: now };
        entry.holdDownUntil = undefined;
        return;
      }
      entry.lastDelivery = {
        outcome: 'failed',
        ...(status !== undefined && { status }),
        blame: attribution.blame,
        why: attribution.why,
        at: now,
      };
      const holdDownMs = this.options.profile.capabilities.holdDownSeconds * 1000;
      if (attribution.holdDown && holdDownMs > 0) {
        entry.holdDownUntil = now + holdDownMs;
        entry.holdDownSince = now;
      }
    });
    return this.decide(aor);
  }

  /** An operator lifts a user's hold-down (admin API); false when the user is not held down. */
  clearHoldDown(aor: string): boolean {
    const entry = this.cache.peek(aor);
    if (!entry || entry.holdDownUntil === undefined || entry.holdDownUntil <= this.now()) return false;
    this.update(aor, (e) => {
      e.holdDownUntil = undefined;
    });
    this.counters.holdDownsCleared++;
    return true;
  }

  /** The admin view of one user (does not change LRU order); undefined when not in the table. */
  entry(aor: string): CapabilityEntryView | undefined {
    const entry = this.cache.peek(aor);
    if (!entry) return undefined;
    const now = this.now();
    return entryView(entry, decideFromSources(policyInput(entry, now, this.ttlMs), this.options.profile), now, this.ttlMs);
  }

  delete(aor: string): boolean {
    return this.cache.delete(aor);
  }

  stats(): CapabilityTableStats {
    return { size: this.cache.size, maxUsers: this.cache.capacity, ...this.counters };
  }

  private update(aor: string, change: (entry: CapabilityEntry, now: number) => void): void {
    const now = this.now();
    // peek, not get: recording a NOTIFY for an entry whose evidence expired must not dispose it as
    // 'expired' (that would make the watcher drop a live subscription); set() below replaces it.
    const entry = this.cache.peek(aor) ?? newEntry(aor, now);
    change(entry, now);
    entry.updatedAt = now;
    this.cache.set(aor, entry, entryExpiresAt(entry, this.ttlMs));
  }

  private onEvicted(aor: string, mapped: EvictionReason): void {
    if (mapped === 'capacity') this.counters.evictions++;
    else if (mapped === 'expired') this.counters.expirations++;
    else this.counters.deletions++;
    for (const listener of this.evictionListeners) listener(aor, mapped);
  }
}

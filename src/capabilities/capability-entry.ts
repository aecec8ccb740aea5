/**
 * One user's capability entry: the evidence the table holds (presence, deliveries, refusals) and how it
 * ages. The table owns entries; the policy reads the fresh part of one through {@link policyInput}.
 */
import type { EmptyPresence, PresenceSummary } from './presence-snapshot.js';
import type { RegistrationEvidence } from './registration-evidence.js';
import type { ReachabilityVerdict } from './reachability-oracle.js';
import type { LastDelivery } from './reachability-policy.js';
import type { SourcesInput } from './source-policy.js';

export interface CapabilityEntry {
  aor: string;
  createdAt: number;
  updatedAt: number;
  /**
   * What the last well-formed presence document said (kept across empty NOTIFYs and parse errors): its
   * summary only (presence-summary.ts), never the parsed document.
   */
  lastDocument?: PresenceSummary;
  /** When the last body-less NOTIFY ("nothing published") arrived. */
  lastEmptyAt?: number;
  /** When any NOTIFY (document, empty or unparseable) last arrived. */
  lastNotifyAt?: number;
  lastDelivery?: LastDelivery;
  holdDownUntil?: number;
  /** When the current hold-down started (the failure that caused it). */
  holdDownSince?: number;
  presenceRefusal?: { kind: 'rejected' | 'noresource'; at: number };
  parseErrors: number;
  lastParseError?: { code: string; message: string; at: number };
  /** The last registration state (reg event, RFC 3680). */
  lastRegistration?: RegistrationEvidence;
  /** Since when a version gap is being resynchronised (the registration state is not used meanwhile). */
  registrationResyncSince?: number;
}

/**
 * A new entry holding no evidence yet. Every field is present from the start (undefined until known):
 * one object shape for all entries, every field in the object itself, no separate property store when
 * evidence arrives later — entries are the table's bulk (one per watched user).
 */
export function newEntry(aor: string, now: number): CapabilityEntry {
  return {
    aor,
    createdAt: now,
    updatedAt: now,
    lastDocument: undefined,
    lastEmptyAt: undefined,
    lastNotifyAt: undefined,
    lastDelivery: undefined,
    holdDownUntil: undefined,
    holdDownSince: undefined,
    presenceRefusal: undefined,
    parseErrors: 0,
    lastParseError: undefined,
    lastRegistration: undefined,
    registrationResyncSince: undefined,
  };
}

/** What the admin view shows for one user. */
export interface CapabilityEntryView {
  aor: string;
  decision: ReachabilityVerdict;
  fresh: boolean;
  sources: {
    document?: { entity: string; tuples: number; receivedAt: number; ageMs: number; fresh: boolean; warnings: string[] };
    emptyNotify?: { receivedAt: number; ageMs: number; fresh: boolean };
    delivery?: LastDelivery & { ageMs: number; fresh: boolean };
    holdDownUntil?: number;
    presenceRefusal?: { kind: 'rejected' | 'noresource'; at: number };
    parseErrors: number;
    lastParseError?: { code: string; message: string; at: number };
    registration?: {
      receivedAt: number;
      ageMs: number;
      fresh: boolean;
      empty: boolean;
      contacts: RegistrationEvidence['contacts'];
      resyncing: boolean;
    };
  };
  createdAt: number;
  /** Time since the entry last changed. */
  ageMs: number;
}

const isFresh = (at: number | undefined, now: number, ttlMs: number): at is number => at !== undefined && now - at < ttlMs;

/**
 * The presence snapshot the policy should see. Rule for empty NOTIFYs (docs/interop.md: they arrive
 * mid-subscription after body-less PUBLISH refreshes): a fresh document wins over any later empty NOTIFY
 * until the document's own TTL runs out; only then does a fresh empty NOTIFY count ("nothing published").
 * A user who never published stays unknown.
 */
export function freshSnapshot(entry: CapabilityEntry, now: number, ttlMs: number): PresenceSummary | EmptyPresence | undefined {
  if (entry.lastDocument && isFresh(entry.lastDocument.receivedAt, now, ttlMs)) return entry.lastDocument;
  if (isFresh(entry.lastEmptyAt, now, ttlMs)) return { kind: 'empty', receivedAt: entry.lastEmptyAt };
  return undefined;
}

/**
 * True when `doc` is news compared with what the entry holds: the first document, or one whose digest
 * differs from the last one (a refresh NOTIFY repeats the digest), and whose newest `<timestamp>`, when it
 * has one, is not older than the failure that started the hold-down (an old publication first seen now
 * is not evidence that the user came back).
 */
export function isNewDocument(entry: CapabilityEntry, doc: PresenceSummary): boolean {
  const last = entry.lastDocument;
  if (last && (doc.digest === undefined || last.digest === doc.digest)) return false;
  if (doc.newestTimestamp !== undefined && entry.holdDownSince !== undefined && doc.newestTimestamp < entry.holdDownSince) return false;
  return true;
}

/** The policy input made of the entry's fresh evidence only: expired evidence counts as unknown. */
export function policyInput(entry: CapabilityEntry | undefined, now: number, ttlMs: number): SourcesInput {
  if (!entry) return { now };
  const input: SourcesInput = { now };
  const snapshot = freshSnapshot(entry, now, ttlMs);
  if (snapshot) input.snapshot = snapshot;
  if (entry.lastDelivery && isFresh(entry.lastDelivery.at, now, ttlMs)) input.lastDelivery = entry.lastDelivery;
  if (entry.holdDownUntil !== undefined && entry.holdDownUntil > now) input.holdDownUntil = entry.holdDownUntil;
  if (entry.presenceRefusal && isFresh(entry.presenceRefusal.at, now, ttlMs)) input.presenceRefusal = entry.presenceRefusal.kind;
  if (entry.lastRegistration && isFresh(entry.lastRegistration.receivedAt, now, ttlMs)) input.registration = entry.lastRegistration;
  if (entry.registrationResyncSince !== undefined) input.registrationResyncing = true;
  return input;
}

/** True when the entry holds any evidence that still counts (the watcher need not wait for a NOTIFY). */
export function hasFreshEvidence(entry: CapabilityEntry, now: number, ttlMs: number, countRegistration = true): boolean {
  const input = policyInput(entry, now, ttlMs);
  if (!countRegistration) input.registration = undefined;
  return (
    input.snapshot !== undefined ||
    input.lastDelivery !== undefined ||
    input.holdDownUntil !== undefined ||
    input.presenceRefusal !== undefined ||
    input.registration !== undefined
  );
}

/** True when the entry holds registration state that still counts and is not being resynchronised. */
export function hasFreshRegistration(entry: CapabilityEntry, now: number, ttlMs: number): boolean {
  const input = policyInput(entry, now, ttlMs);
  return input.registration !== undefined && !input.registrationResyncing;
}

/** When the entry's last change or evidence stops counting, or its hold-down ends (the LRU TTL). */
export function entryExpiresAt(entry: CapabilityEntry, ttlMs: number): number {
  const times = [
    entry.updatedAt,
    entry.lastDocument?.receivedAt,
    entry.lastEmptyAt,
    entry.lastDelivery?.at,
    entry.presenceRefusal?.at,
    entry.lastRegistration?.receivedAt,
  ].filter((t): t is number => t !== undefined);
  return Math.max(Math.max(...times) + ttlMs, entry.holdDownUntil ?? 0);
}

export function entryView(entry: CapabilityEntry, decision: ReachabilityVerdict, now: number, ttlMs: number): CapabilityEntryView {
  const doc = entry.lastDocument;
  const sources: CapabilityEntryView['sources'] = { parseErrors: entry.parseErrors };
  if (doc) {
    sources.document = {
      entity: doc.entity ?? entry.aor,
      tuples: doc.tuples,
      receivedAt: doc.receivedAt,
      ageMs: now - doc.receivedAt,
      fresh: isFresh(doc.receivedAt, now, ttlMs),
      warnings: [...doc.warnings],
    };
  }
  if (entry.lastEmptyAt !== undefined) {
    sources.emptyNotify = { receivedAt: entry.lastEmptyAt, ageMs: now - entry.lastEmptyAt, fresh: isFresh(entry.lastEmptyAt, now, ttlMs) };
  }
  if (entry.lastDelivery) {
    sources.delivery = { ...entry.lastDelivery, ageMs: now - entry.lastDelivery.at, fresh: isFresh(entry.lastDelivery.at, now, ttlMs) };
  }
  if (entry.holdDownUntil !== undefined && entry.holdDownUntil > now) sources.holdDownUntil = entry.holdDownUntil;
  if (entry.presenceRefusal) sources.presenceRefusal = entry.presenceRefusal;
  if (entry.lastParseError) sources.lastParseError = entry.lastParseError;
  const reg = entry.lastRegistration;
  if (reg) {
    sources.registration = {
      receivedAt: reg.receivedAt,
      ageMs: now - reg.receivedAt,
      fresh: isFresh(reg.receivedAt, now, ttlMs),
      empty: reg.empty,
      contacts: reg.contacts,
      resyncing: entry.registrationResyncSince !== undefined,
    };
  }
  return {
    aor: entry.aor,
    decision,
    fresh: hasFreshEvidence(entry, now, ttlMs),
    sources,
    createdAt: entry.createdAt,
    ageMs: now - entry.updatedAt,
  };
}

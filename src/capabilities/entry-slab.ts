/**
 * Capability entries stored column-wise in typed arrays, one slot per entry (what the in-process store,
 * memory-capability-store.ts, keeps its entries in). A {@link CapabilityEntry} as an object graph costs
 * hundreds of bytes of fixed V8 overhead — object headers, boxed numbers, a summary object, a delivery
 * object, pointers — for what is mostly a few timestamps and small enumerations; at a million watched
 * users that is most of the agent's heap. Here an entry's timestamps are 8 bytes each in one
 * Float64Array (NaN = absent), its enumerations and status one or two bytes each, its presence digest
 * 16 raw bytes; only the reason text keeps a string of its own. Values that recur across entries (rule,
 * failure explanation, accepted push applications) are interned in bounded tables; what is rare or does
 * not fit a column (a hold-down's start, registration state, parse errors, refusals, warnings, an entity
 * differing from the AOR, an interning table full) goes into one small side object per slot, absent for
 * most entries.
 *
 * `write` takes an entry apart into its slot; `read` builds a new, equal entry (same fields, same
 * shape) for the caller, who may change it and write it back — entries are values here, never shared.
 */
import { Interner } from '../lib/interner.js';
import { newEntry, type CapabilityEntry } from './capability-entry.js';
import type { PresenceSummary } from './presence-snapshot.js';
import type { LastDelivery } from './reachability-policy.js';

/** Float64 columns per slot, in this order. */
const T_CREATED = 0;
const T_UPDATED = 1;
const T_DOC = 2;
const T_NEWEST = 3;
const T_EMPTY = 4;
const T_NOTIFY = 5;
const T_DELIVERY = 6;
const T_HOLD = 7;
const TIMES = 8;

/** Uint8 columns per slot. */
const B_FLAGS = 0;
const B_REACH = 1;
const B_RULE = 2;
const B_BEARER = 3;
const B_OUTCOME = 4;
const B_BLAME = 5;
const BYTES = 6;

/** Uint16 columns per slot. */
const W_STATUS = 0;
const W_WHY = 1;
const W_APPS = 2;
const W_TUPLES = 3;
const WORDS = 4;

const HAS_DOC = 1;
const HAS_DELIVERY = 2;
const HAS_DIGEST = 4;
const DIGEST_BYTES = 16;

/** Code meaning "kept in the slot's side object" (0 means absent). */
const IN_EXTRA_8 = 0xff;
const IN_EXTRA_16 = 0xffff;

const NO_WARNINGS: readonly string[] = Object.freeze([]);

/** What does not fit the columns; most slots have none (then the slot refers to its reason text only). */
interface Extra {
  reason?: string;
  holdDownSince?: number;
  registrationResyncSince?: number;
  parseErrors?: number;
  lastParseError?: CapabilityEntry['lastParseError'];
  lastRegistration?: CapabilityEntry['lastRegistration'];
  presenceRefusal?: CapabilityEntry['presenceRefusal'];
  entity?: string;
  warnings?: readonly string[];
  reachability?: PresenceSummary['reachability'];
  rule?: PresenceSummary['rule'];
  bearerHint?: string;
  acceptedApps?: PresenceSummary['acceptedApps'];
  digest?: string;
  outcome?: LastDelivery['outcome'];
  status?: number;
  blame?: LastDelivery['blame'];
  why?: string;
  tuples?: number;
}

const orNaN = (n: number | undefined): number => (n === undefined ? Number.NaN : n);
const orUndefined = (n: number): number | undefined => (Number.isNaN(n) ? undefined : n);

export class EntrySlab {
  private slots = 0;
  private times = new Float64Array(0);
  private bytes = new Uint8Array(0);
  private words = new Uint16Array(0);
  private digests = new Uint8Array(0);
  /** Per slot: the document's reason text, or the side object (which then holds the reason). */
  private refs: Array<string | Extra | undefined> = [];
  private readonly reachabilities = new Interner<PresenceSummary['reachability']>(IN_EXTRA_8 - 1);
  private readonly rules = new Interner<PresenceSummary['rule']>(IN_EXTRA_8 - 1);
  private readonly bearers = new Interner<string>(IN_EXTRA_8 - 1);
  private readonly outcomes = new Interner<LastDelivery['outcome']>(IN_EXTRA_8 - 1);
  private readonly blames = new Interner<NonNullable<LastDelivery['blame']>>(IN_EXTRA_8 - 1);
  private readonly whys = new Interner<string>(IN_EXTRA_16 - 1);
  private readonly apps = new Interner<PresenceSummary['acceptedApps']>(IN_EXTRA_16 - 1);

  /** Slots available (0 .. length-1). */
  get length(): number {
    return this.slots;
  }

  /** Makes `n` slots available, keeping what the first ones hold. */
  grow(n: number): void {
    if (n <= this.slots) return;
    this.times = copyInto(new Float64Array(n * TIMES), this.times);
    this.bytes = copyInto(new Uint8Array(n * BYTES), this.bytes);
    this.words = copyInto(new Uint16Array(n * WORDS), this.words);
    this.digests = copyInto(new Uint8Array(n * DIGEST_BYTES), this.digests);
    this.refs = grown(this.refs, n);
    this.slots = n;
  }

  /** Drops what the slot refers to (its strings and side object), so a freed slot holds nothing alive. */
  clear(slot: number): void {
    this.refs[slot] = undefined;
  }

  write(slot: number, entry: CapabilityEntry): void {
    let extra: Extra | undefined;
    const x = (): Extra => {
      extra ??= {};
      return extra;
    };
    const t = slot * TIMES;
    const b = slot * BYTES;
    const w = slot * WORDS;
    const { times, bytes, words } = this;
    times[t + T_CREATED] = entry.createdAt;
    times[t + T_UPDATED] = entry.updatedAt;
    times[t + T_EMPTY] = orNaN(entry.lastEmptyAt);
    times[t + T_NOTIFY] = orNaN(entry.lastNotifyAt);
    times[t + T_HOLD] = orNaN(entry.holdDownUntil);
    if (entry.holdDownSince !== undefined) x().holdDownSince = entry.holdDownSince;
    if (entry.registrationResyncSince !== undefined) x().registrationResyncSince = entry.registrationResyncSince;
    if (entry.parseErrors !== 0) x().parseErrors = entry.parseErrors;
    if (entry.lastParseError) x().lastParseError = entry.lastParseError;
    if (entry.lastRegistration) x().lastRegistration = entry.lastRegistration;
    if (entry.presenceRefusal) x().presenceRefusal = entry.presenceRefusal;

    // The value's code in `interner`; when that table is full, the value goes in the side object.
    const coded = <K extends keyof Extra>(
      interner: Interner<NonNullable<Extra[K]>>,
      key: string,
      value: NonNullable<Extra[K]>,
      field: K,
      full: number,
    ) => {
      const code = interner.code(key, value);
      if (code !== 0) return code;
      x()[field] = value;
      return full;
    };
    let flags = 0;
    const doc = entry.lastDocument;
    if (doc) {
      flags |= HAS_DOC;
      times[t + T_DOC] = doc.receivedAt;
      times[t + T_NEWEST] = orNaN(doc.newestTimestamp);
      bytes[b + B_REACH] = coded(this.reachabilities, doc.reachability, doc.reachability, 'reachability', IN_EXTRA_8);
      bytes[b + B_RULE] = coded(this.rules, doc.rule, doc.rule, 'rule', IN_EXTRA_8);
      bytes[b + B_BEARER] =
        doc.bearerHint === undefined ? 0 : coded(this.bearers, doc.bearerHint, doc.bearerHint, 'bearerHint', IN_EXTRA_8);
      const appsKey = doc.acceptedApps === 'any' ? 'any' : `\u0001${doc.acceptedApps.join('\u0000')}`;
      words[w + W_APPS] = coded(this.apps, appsKey, doc.acceptedApps, 'acceptedApps', IN_EXTRA_16);
      if (doc.digest !== undefined) {
        const raw = Buffer.from(doc.digest, 'base64url');
        // Only the digest's usual form (16 bytes, canonical base64url) goes in the column.
        if (raw.length === DIGEST_BYTES && raw.toString('base64url') === doc.digest) {
          this.digests.set(raw, slot * DIGEST_BYTES);
          flags |= HAS_DIGEST;
        } else x().digest = doc.digest;
      }
      if (doc.entity !== undefined) x().entity = doc.entity;
      if (doc.warnings.length > 0) x().warnings = doc.warnings;
      words[w + W_TUPLES] = Math.min(doc.tuples, IN_EXTRA_16);
      if (doc.tuples >= IN_EXTRA_16) x().tuples = doc.tuples;
    }

    const delivery = entry.lastDelivery;
    if (delivery) {
      flags |= HAS_DELIVERY;
      times[t + T_DELIVERY] = delivery.at;
      bytes[b + B_OUTCOME] = coded(this.outcomes, delivery.outcome, delivery.outcome, 'outcome', IN_EXTRA_8);
      const { status, blame, why } = delivery;
      const statusFits = status === undefined || (Number.isInteger(status) && status > 0 && status < IN_EXTRA_16);
      words[w + W_STATUS] = status === undefined ? 0 : statusFits ? status : IN_EXTRA_16;
      if (!statusFits) x().status = status;
      bytes[b + B_BLAME] = blame === undefined ? 0 : coded(this.blames, blame, blame, 'blame', IN_EXTRA_8);
      words[w + W_WHY] = why === undefined ? 0 : coded(this.whys, why, why, 'why', IN_EXTRA_16);
    }
    bytes[b + B_FLAGS] = flags;
    if (extra && doc) extra.reason = doc.reason;
    this.refs[slot] = extra ?? doc?.reason;
  }

  read(slot: number, aor: string): CapabilityEntry {
    const t = slot * TIMES;
    const b = slot * BYTES;
    const w = slot * WORDS;
    const { times, bytes, words } = this;
    const ref = this.refs[slot];
    const extra = typeof ref === 'object' ? ref : undefined;
    const flags = bytes[b + B_FLAGS];
    const entry = newEntry(aor, times[t + T_CREATED]);
    entry.updatedAt = times[t + T_UPDATED];
    entry.lastEmptyAt = orUndefined(times[t + T_EMPTY]);
    entry.lastNotifyAt = orUndefined(times[t + T_NOTIFY]);
    entry.holdDownUntil = orUndefined(times[t + T_HOLD]);
    if (extra) {
      entry.holdDownSince = extra.holdDownSince;
      entry.registrationResyncSince = extra.registrationResyncSince;
      entry.parseErrors = extra.parseErrors ?? 0;
      entry.lastParseError = extra.lastParseError;
      entry.lastRegistration = extra.lastRegistration;
      entry.presenceRefusal = extra.presenceRefusal;
    }
    if (flags & HAS_DOC) {
      const reach = bytes[b + B_REACH];
      const rule = bytes[b + B_RULE];
      const bearer = bytes[b + B_BEARER];
      const apps = words[w + W_APPS];
      const tuples = words[w + W_TUPLES];
      const d = slot * DIGEST_BYTES;
      // The literal of presence-summary.ts, field for field (one object shape).
      entry.lastDocument = {
        kind: 'summary',
        receivedAt: times[t + T_DOC],
        reachability: reach === IN_EXTRA_8 ? (extra?.reachability ?? 'unknown') : this.reachabilities.value(reach),
        rule: rule === IN_EXTRA_8 ? (extra?.rule ?? 'no-tuples') : this.rules.value(rule),
        reason: (typeof ref === 'string' ? ref : extra?.reason) ?? '',
        acceptedApps: apps === IN_EXTRA_16 ? (extra?.acceptedApps ?? 'any') : this.apps.value(apps),
        bearerHint: bearer === 0 ? undefined : bearer === IN_EXTRA_8 ? extra?.bearerHint : this.bearers.value(bearer),
        digest:
          flags & HAS_DIGEST
            ? Buffer.from(this.digests.buffer, this.digests.byteOffset + d, DIGEST_BYTES).toString('base64url')
            : extra?.digest,
        newestTimestamp: orUndefined(times[t + T_NEWEST]),
        entity: extra?.entity,
        tuples: tuples === IN_EXTRA_16 ? (extra?.tuples ?? 0) : tuples,
        warnings: extra?.warnings ?? NO_WARNINGS,
      };
    }
    if (flags & HAS_DELIVERY) entry.lastDelivery = this.readDelivery(times[t + T_DELIVERY], b, w, extra);
    return entry;
  }

  /** The delivery literal the table builds (capability-table.ts), absent fields left out. */
  private readDelivery(at: number, b: number, w: number, extra: Extra | undefined): LastDelivery {
    const outcomeCode = this.bytes[b + B_OUTCOME];
    const status = this.words[w + W_STATUS];
    const blame = this.bytes[b + B_BLAME];
    const why = this.words[w + W_WHY];
    return {
      outcome: outcomeCode === IN_EXTRA_8 ? (extra?.outcome ?? 'failed') : this.outcomes.value(outcomeCode),
      ...(status !== 0 && { status: status === IN_EXTRA_16 ? extra?.status : status }),
      ...(blame !== 0 && { blame: blame === IN_EXTRA_8 ? extra?.blame : this.blames.value(blame) }),
      ...(why !== 0 && { why: why === IN_EXTRA_16 ? extra?.why : this.whys.value(why) }),
      at,
    };
  }
}

function copyInto<A extends Float64Array | Uint8Array | Uint16Array>(to: A, from: A): A {
  to.set(from);
  return to;
}

function grown<V>(from: V[], n: number): V[] {
  const to = new Array<V>(n);
  for (let i = 0; i < from.length; i++) to[i] = from[i];
  return to;
}

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { newEntry, type CapabilityEntry } from '../../src/capabilities/capability-entry.js';
import { EntrySlab } from '../../src/capabilities/entry-slab.js';
import type { PresenceSummary } from '../../src/capabilities/presence-snapshot.js';
import type { LastDelivery } from '../../src/capabilities/reachability-policy.js';

const T0 = 1_700_000_000_000;
const time = fc.integer({ min: T0, max: T0 + 10_000_000 });
const maybe = <A>(arb: fc.Arbitrary<A>) => fc.option(arb, { nil: undefined });
// fc.record makes null-prototype objects; the entries the table builds are plain ones.
const plain = <A extends object>(arb: fc.Arbitrary<A>): fc.Arbitrary<A> => arb.map((r) => ({ ...r }));

const summary: fc.Arbitrary<PresenceSummary> = plain(
  fc.record({
    kind: fc.constant('summary' as const),
    receivedAt: time,
    reachability: fc.constantFrom('reachable' as const, 'unreachable' as const, 'unknown' as const),
    rule: fc.constantFrom('push-service-open' as const, 'all-closed' as const, 'no-tuples' as const, 'message-capable' as const),
    reason: fc.string(),
    acceptedApps: fc.oneof(fc.constant('any' as const), fc.array(fc.string({ minLength: 1 }), { maxLength: 3 })),
    bearerHint: maybe(fc.constantFrom('SMS', 'MMS', 'OTA-HTTP', 'x-own-bearer')),
    // The usual 22-character digest, and odd ones the column cannot hold (kept aside).
    digest: maybe(
      fc.oneof(
        fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => Buffer.from(b).toString('base64url')),
        fc.string(),
      ),
    ),
    newestTimestamp: maybe(time),
    entity: maybe(fc.string()),
    tuples: fc.nat({ max: 100 }),
    warnings: fc.array(fc.string(), { maxLength: 2 }),
  }),
);

const delivery: fc.Arbitrary<LastDelivery> = fc.oneof(
  plain(
    fc.record({
      outcome: fc.constant('delivered' as const),
      status: fc.integer({ min: 200, max: 299 }),
      blame: fc.constant('none' as const),
      at: time,
    }),
  ),
  plain(
    fc.record(
      {
        outcome: fc.constant('failed' as const),
        status: fc.oneof(fc.integer({ min: 300, max: 699 }), fc.constant(70_000), fc.constant(4.5)),
        blame: fc.constantFrom('user' as const, 'core' as const, 'request' as const),
        why: fc.string(),
        at: time,
      },
      { requiredKeys: ['outcome', 'blame', 'why', 'at'] },
    ),
  ),
);

const entry: fc.Arbitrary<CapabilityEntry> = fc
  .record({
    createdAt: time,
    updatedAt: time,
    lastDocument: maybe(summary),
    lastEmptyAt: maybe(time),
    lastNotifyAt: maybe(time),
    lastDelivery: maybe(delivery),
    holdDownUntil: maybe(time),
    holdDownSince: maybe(time),
    presenceRefusal: maybe(plain(fc.record({ kind: fc.constantFrom('rejected' as const, 'noresource' as const), at: time }))),
    parseErrors: fc.nat({ max: 5 }),
    lastParseError: maybe(plain(fc.record({ code: fc.string(), message: fc.string(), at: time }))),
    lastRegistration: maybe(plain(fc.record({ receivedAt: time, contacts: fc.constant([]), empty: fc.boolean() }))),
    registrationResyncSince: maybe(time),
  })
  .map((fields) => {
    const e = newEntry('sip:a@x', fields.createdAt);
    // The summary as presence-summary.ts builds it: an absent digest/entity is an undefined field, warnings frozen.
    const doc = fields.lastDocument && { ...fields.lastDocument, warnings: Object.freeze([...fields.lastDocument.warnings]) };
    return Object.assign(e, fields, { lastDocument: doc });
  });

describe('EntrySlab', () => {
  it('an entry written into a slot reads back equal, field for field (any mix of evidence)', () => {
    const slab = new EntrySlab();
    slab.grow(8);
    fc.assert(
      fc.property(entry, fc.nat({ max: 7 }), (e, slot) => {
        slab.write(slot, e);
        expect(slab.read(slot, 'sip:a@x')).toStrictEqual(e);
      }),
      { numRuns: 500 },
    );
  });

  it('a rewrite leaves nothing of the slot before (evidence removed stays removed)', () => {
    const slab = new EntrySlab();
    slab.grow(1);
    fc.assert(
      fc.property(entry, entry, (first, second) => {
        slab.write(0, first);
        slab.write(0, second);
        expect(slab.read(0, 'sip:a@x')).toStrictEqual(second);
      }),
      { numRuns: 300 },
    );
  });

  it('growing keeps what the slots hold; more distinct values than a column can code are kept aside', () => {
    const slab = new EntrySlab();
    slab.grow(2);
    const written: CapabilityEntry[] = [];
    for (let i = 0; i < 300; i++) {
      if (i >= slab.length) slab.grow(slab.length * 2);
      const e = newEntry(`sip:u${i}@x`, T0 + i);
      // 300 distinct bearer hints: more than the one-byte column can name.
      e.lastDocument = {
        kind: 'summary',
        receivedAt: T0 + i,
        reachability: 'reachable',
        rule: 'push-service-open',
        reason: `tuple t${i}`,
        acceptedApps: [`app${i}`],
        bearerHint: `bearer-${i}`,
        digest: undefined,
        newestTimestamp: undefined,
        entity: undefined,
        tuples: 1,
        warnings: Object.freeze([]),
      };
      slab.write(i, e);
      written.push(e);
    }
    for (const [i, e] of written.entries()) expect(slab.read(i, e.aor)).toStrictEqual(e);
  });
});

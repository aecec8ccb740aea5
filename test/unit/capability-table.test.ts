import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CapabilityTable, type EvictionReason } from '../../src/capabilities/capability-table.js';
import { parsePresence } from '../../src/presence/pidf-parser.js';
import type { PresenceSnapshot } from '../../src/capabilities/presence-snapshot.js';
import { loadProfile } from '../../src/profiles/load-profile.js';

const profile = loadProfile('kamailio-lab'); // ttl 600 s, hold-down 60 s, basicOpenIsEnough
const TTL = profile.capabilities.ttlSeconds * 1000;
const HOLD = profile.capabilities.holdDownSeconds * 1000;
const ALICE = 'sip:alice@127.0.0.1';

function setup(maxUsers = 10) {
  const clock = { t: 1_000_000 };
  const evicted: Array<[string, EvictionReason]> = [];
  const table = new CapabilityTable({ maxUsers, profile, now: () => clock.t, onEvict: (aor, why) => evicted.push([aor, why]) });
  const snapshot = (name: string): PresenceSnapshot =>
    parsePresence(readFileSync(new URL(`../fixtures/pidf/${name}`, import.meta.url)), undefined, { receivedAt: clock.t });
  const empty = (): PresenceSnapshot => ({ kind: 'empty', receivedAt: clock.t });
  return { clock, table, evicted, snapshot, empty };
}

describe('CapabilityTable: presence', () => {
  it('an unknown user is unknown and counts a miss; a document makes it known and counts a hit', () => {
    const { table, snapshot } = setup();
    expect(table.decide(ALICE).reachability).toBe('unknown');
    table.recordPresence(ALICE, snapshot('oma-push-open.xml'));
    expect(table.decide(ALICE)).toMatchObject({ reachability: 'reachable', rule: 'push-service-open' });
    expect(table.stats()).toMatchObject({ size: 1, hits: 1, misses: 1, presenceUpdates: 1 });
  });

  it('a closed document on the next NOTIFY flips to unreachable', () => {
    const { table, snapshot, clock } = setup();
    table.recordPresence(ALICE, snapshot('baresip.xml'));
    clock.t += 1000;
    table.recordPresence(ALICE, snapshot('kamailio-publication-removed.xml'));
    expect(table.decide(ALICE)).toMatchObject({ reachability: 'unreachable', rule: 'all-closed' });
  });

  it('an empty NOTIFY after a good document keeps it until the document TTL, then unknown', () => {
    const { table, snapshot, empty, clock } = setup();
    table.recordPresence(ALICE, snapshot('baresip.xml'));
    clock.t += 10_000;
    table.recordPresence(ALICE, empty());
    expect(table.decide(ALICE).reachability).toBe('reachable');
    expect(table.entry(ALICE)?.sources.emptyNotify?.fresh).toBe(true);
    clock.t += TTL - 10_000; // the document is now exactly TTL old; the empty one is not
    expect(table.decide(ALICE)).toMatchObject({ reachability: 'unknown', rule: 'nothing-published' });
    expect(table.isFresh(ALICE)).toBe(true);
  });

  it('a user who only ever sent empty NOTIFYs stays unknown (nothing-published), but is fresh', () => {
    const { table, empty } = setup();
    table.recordPresence(ALICE, empty());
    expect(table.decide(ALICE).rule).toBe('nothing-published');
    expect(table.isFresh(ALICE)).toBe(true);
  });

  it('expired evidence counts as unknown, not as its old state, and the entry leaves the table', () => {
    const { table, snapshot, clock, evicted } = setup();
    table.recordPresence(ALICE, snapshot('kamailio-publication-removed.xml'));
    clock.t += TTL;
    expect(table.decide(ALICE)).toMatchObject({ reachability: 'unknown', rule: 'no-presence' });
    expect(table.isFresh(ALICE)).toBe(false);
    expect(table.stats().size).toBe(0);
    expect(evicted).toEqual([[ALICE, 'expired']]);
  });

  it('a parse error keeps the last good state and is counted', () => {
    const { table, snapshot } = setup();
    table.recordPresence(ALICE, snapshot('oma-push-open.xml'));
    table.recordParseError(ALICE, { code: 'PIDF_INVALID', message: 'truncated' });
    expect(table.decide(ALICE).reachability).toBe('reachable');
    expect(table.entry(ALICE)?.sources).toMatchObject({ parseErrors: 1, lastParseError: { code: 'PIDF_INVALID' } });
    expect(table.stats().parseErrors).toBe(1);
  });

  it('noresource drops the document and marks unreachable; rejected alone is unknown', () => {
    const { table, snapshot } = setup();
    table.recordPresence(ALICE, snapshot('oma-push-open.xml'));
    table.recordPresenceRefusal(ALICE, 'noresource');
    expect(table.decide(ALICE)).toMatchObject({ reachability: 'unreachable', rule: 'noresource' });
    table.recordPresenceRefusal('sip:bob@127.0.0.1', 'rejected');
    expect(table.decide('sip:bob@127.0.0.1')).toMatchObject({ reachability: 'unknown', rule: 'rejected' });
  });
});

describe('CapabilityTable: deliveries', () => {
  it.each([[404], [408], [480], [undefined]])('status %s (undefined = timeout) holds the user down, then releases', (status) => {
    const { table, snapshot, clock } = setup();
    table.recordPresence(ALICE, snapshot('oma-push-open.xml'));
    const d = table.recordDelivery(ALICE, status === undefined ? { failure: 'timeout', coreAlive: true } : { status, coreAlive: true });
    expect(d).toMatchObject({ reachability: 'unreachable', rule: 'hold-down' });
    clock.t += HOLD - 1;
    expect(table.decide(ALICE).rule).toBe('hold-down');
    clock.t += 1;
    expect(table.decide(ALICE).reachability).toBe('reachable');
  });

  it('2xx clears a hold-down and marks reachable even after a closed document', () => {
    const { table, snapshot, clock } = setup();
    table.recordPresence(ALICE, snapshot('all-closed.xml'));
    table.recordDelivery(ALICE, { status: 480 });
    clock.t += 5;
    expect(table.recordDelivery(ALICE, { status: 200 })).toMatchObject({ reachability: 'reachable', rule: 'delivered' });
    expect(table.entry(ALICE)?.sources.holdDownUntil).toBeUndefined();
  });

  it('a 415 or 503 is recorded without a hold-down', () => {
    const { table, snapshot } = setup();
    table.recordPresence(ALICE, snapshot('oma-push-open.xml'));
    expect(table.recordDelivery(ALICE, { status: 415 }).reachability).toBe('reachable');
    expect(table.recordDelivery(ALICE, { status: 503 }).reachability).toBe('reachable');
    expect(table.entry(ALICE)?.sources.delivery).toMatchObject({ outcome: 'failed', status: 503 });
  });

  it('a hold-down outlives the presence TTL of the entry it is on', () => {
    const clock = { t: 0 };
    const short = { ...profile, capabilities: { ttlSeconds: 10, holdDownSeconds: 60 } };
    const table = new CapabilityTable({ maxUsers: 5, profile: short, now: () => clock.t });
    table.recordDelivery(ALICE, { status: 404 });
    clock.t = 30_000;
    expect(table.decide(ALICE).rule).toBe('hold-down');
    clock.t = 60_000;
    expect(table.decide(ALICE).rule).toBe('no-presence');
  });
});

describe('CapabilityTable: LRU, admin view, stats', () => {
  it('evicts the least recently used user beyond maxUsers and reports it', () => {
    const { table, snapshot, evicted } = setup(2);
    table.recordPresence('sip:a@x', snapshot('baresip.xml'));
    table.recordPresence('sip:b@x', snapshot('baresip.xml'));
    table.decide('sip:a@x'); // a is now more recent than b
    table.recordPresence('sip:c@x', snapshot('baresip.xml'));
    expect(evicted).toEqual([['sip:b@x', 'capacity']]);
    expect(table.entry('sip:b@x')).toBeUndefined();
    expect(table.stats()).toMatchObject({ size: 2, evictions: 1 });
  });

  it('delete() removes the user and reports it as deleted; touch() creates an evidence-less entry', () => {
    const { table, evicted } = setup();
    table.touch(ALICE);
    expect(table.entry(ALICE)).toMatchObject({ aor: ALICE, fresh: false, decision: { reachability: 'unknown' } });
    expect(table.delete(ALICE)).toBe(true);
    expect(evicted).toEqual([[ALICE, 'deleted']]);
    expect(table.stats().deletions).toBe(1);
  });

  it('entry() shows sources and ages without touching LRU order', () => {
    const { table, snapshot, clock, evicted } = setup(2);
    table.recordPresence('sip:a@x', snapshot('oma-push-open.xml'));
    table.recordPresence('sip:b@x', snapshot('baresip.xml'));
    clock.t += 2500;
    const view = table.entry('sip:a@x');
    expect(view?.sources.document).toMatchObject({ entity: 'sip:alice@ims.example.com', tuples: 1, ageMs: 2500, fresh: true });
    expect(view?.ageMs).toBe(2500);
    table.recordPresence('sip:c@x', snapshot('baresip.xml'));
    expect(evicted[0][0]).toBe('sip:a@x');
  });
});

describe('CapabilityTable: what lifts a hold-down', () => {
  const at = (t: number) => new Date(t).toISOString();
  const doc = (clock: { t: number }, basic: string, timestamp?: number) =>
    parsePresence(
      Buffer.from(
        `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="${ALICE}"><tuple id="t1"><status><basic>${basic}</basic></status>` +
          `${timestamp === undefined ? '' : `<timestamp>${at(timestamp)}</timestamp>`}</tuple></presence>`,
      ),
      'application/pidf+xml',
      { receivedAt: clock.t },
    );

  it('a refresh NOTIFY repeating the document does not; a changed document does', () => {
    const { table, clock } = setup();
    table.recordPresence(ALICE, doc(clock, 'open'));
    clock.t += 1000;
    table.recordDelivery(ALICE, { status: 480 });
    clock.t += 1000;
    table.recordPresence(ALICE, doc(clock, 'open'));
    expect(table.decide(ALICE).rule).toBe('hold-down');
    clock.t += 1000;
    table.recordPresence(ALICE, doc(clock, 'open', clock.t));
    expect(table.decide(ALICE)).toMatchObject({ reachability: 'reachable', rule: 'basic-open' });
    expect(table.stats().holdDownsLiftedByPresence).toBe(1);
  });

  it('a document first seen after the failure but stamped before it does not', () => {
    const { table, clock } = setup();
    const failedAt = clock.t;
    table.recordDelivery(ALICE, { status: 404 });
    clock.t += 1000;
    table.recordPresence(ALICE, doc(clock, 'open', failedAt - 60_000));
    expect(table.decide(ALICE).rule).toBe('hold-down');
    table.recordPresence(ALICE, doc(clock, 'open', failedAt + 500));
    expect(table.decide(ALICE).rule).toBe('basic-open');
  });

  it('an operator clears it; clearing a user not held down reports false', () => {
    const { table, clock } = setup();
    table.recordPresence(ALICE, doc(clock, 'open'));
    table.recordDelivery(ALICE, { status: 480 });
    expect(table.clearHoldDown(ALICE)).toBe(true);
    expect(table.decide(ALICE).rule).toBe('basic-open');
    expect(table.clearHoldDown(ALICE)).toBe(false);
    expect(table.clearHoldDown('sip:nobody@127.0.0.1')).toBe(false);
    expect(table.stats().holdDownsCleared).toBe(1);
  });

  it('blames the core, not the user: a timeout while the core was not known alive, a transport error, a 503', () => {
    const { table, clock } = setup();
    table.recordPresence(ALICE, doc(clock, 'open'));
    expect(table.recordDelivery(ALICE, { failure: 'timeout', coreAlive: false }).rule).toBe('basic-open');
    expect(table.recordDelivery(ALICE, { failure: 'transport', coreAlive: true }).rule).toBe('basic-open');
    expect(table.recordDelivery(ALICE, { status: 408, coreAlive: false }).rule).toBe('basic-open');
    expect(table.entry(ALICE)?.sources.delivery).toMatchObject({ outcome: 'failed', status: 408, blame: 'core' });
    expect(table.recordDelivery(ALICE, { failure: 'timeout', coreAlive: true }).rule).toBe('hold-down');
    expect(table.entry(ALICE)?.sources.delivery).toMatchObject({ blame: 'user' });
  });
});

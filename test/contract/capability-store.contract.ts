/**
 * The CapabilityStore contract: what every implementation of src/capabilities/capability-store.ts must
 * do, on its own and under the capability table. Run it from a `*.contract.test.ts` file:
 *
 *   describeCapabilityStoreContract('memory', ({ capacity, now }) => new MemoryCapabilityStore({ capacity, now }));
 *
 * The clock is injected: every expiry here is reached by moving it, never by waiting.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { newEntry } from '../../src/capabilities/capability-entry.js';
import type { CapabilityStore, EvictionReason } from '../../src/capabilities/capability-store.js';
import { CapabilityTable } from '../../src/capabilities/capability-table.js';
import { loadProfile } from '../../src/profiles/load-profile.js';
import type { SipProfile } from '../../src/profiles/schema.js';

export interface StoreFactoryOptions {
  capacity: number;
  now: () => number;
}

export type StoreFactory = (options: StoreFactoryOptions) => CapabilityStore | Promise<CapabilityStore>;

const START = 1_700_000_000_000;

export function describeCapabilityStoreContract(
  name: string,
  makeStore: StoreFactory,
  cleanup?: (store: CapabilityStore) => Promise<void>,
): void {
  describe(`CapabilityStore contract: ${name}`, () => {
    const made: CapabilityStore[] = [];
    afterEach(async () => {
      for (const store of made.splice(0)) await cleanup?.(store);
    });

    async function setup(capacity = 10) {
      const clock = { t: START };
      const store = await makeStore({ capacity, now: () => clock.t });
      made.push(store);
      const left: Array<[string, EvictionReason]> = [];
      store.onEvict((aor, reason) => left.push([aor, reason]));
      const put = (aor: string, ttlMs: number) => store.set(aor, newEntry(aor, clock.t), clock.t + ttlMs);
      return { clock, store, left, put };
    }

    it('set then get and peek return the entry; an unknown user is undefined', async () => {
      const { store, put } = await setup();
      put('sip:a@x', 1000);
      expect(store.get('sip:a@x')?.aor).toBe('sip:a@x');
      expect(store.peek('sip:a@x')?.aor).toBe('sip:a@x');
      expect(store.get('sip:nobody@x')).toBeUndefined();
      expect(store.size).toBe(1);
      expect(store.capacity).toBe(10);
    });

    it('an entry is there until just before its expiry and gone at it; get reports it as expired', async () => {
      const { clock, store, left, put } = await setup();
      put('sip:a@x', 1000);
      clock.t += 999;
      expect(store.get('sip:a@x')).toBeDefined();
      clock.t += 1;
      expect(store.peek('sip:a@x')).toBeUndefined();
      expect(left).toEqual([]); // peek has no side effect
      expect(store.get('sip:a@x')).toBeUndefined();
      expect(left).toEqual([['sip:a@x', 'expired']]);
    });

    it('a later set replaces the entry and its expiry', async () => {
      const { clock, store, put } = await setup();
      put('sip:a@x', 1000);
      clock.t += 900;
      put('sip:a@x', 1000);
      clock.t += 900;
      expect(store.get('sip:a@x')).toBeDefined();
      expect(store.size).toBe(1);
    });

    it('at capacity the least recently used entry leaves first (get counts as use, peek does not)', async () => {
      const { store, left, put } = await setup(3);
      put('sip:a@x', 60_000);
      put('sip:b@x', 60_000);
      put('sip:c@x', 60_000);
      store.get('sip:a@x');
      store.peek('sip:b@x');
      put('sip:d@x', 60_000);
      expect(left).toEqual([['sip:b@x', 'capacity']]);
      expect(store.size).toBe(3);
      expect(store.peek('sip:b@x')).toBeUndefined();
      expect(store.peek('sip:a@x')).toBeDefined();
    });

    it('delete removes an entry and says so once', async () => {
      const { store, left, put } = await setup();
      put('sip:a@x', 1000);
      expect(store.delete('sip:a@x')).toBe(true);
      expect(store.delete('sip:a@x')).toBe(false);
      expect(store.get('sip:a@x')).toBeUndefined();
      expect(left).toEqual([['sip:a@x', 'deleted']]);
    });

    it('admin iteration lists live entries, most recently used first, leaving expired ones out', async () => {
      const { clock, store, put } = await setup();
      put('sip:a@x', 10_000);
      put('sip:short@x', 500);
      put('sip:b@x', 10_000);
      store.get('sip:a@x');
      clock.t += 600;
      expect([...store.entries()].map(([aor]) => aor)).toEqual(['sip:a@x', 'sip:b@x']);
    });

    it('a removed listener hears nothing more', async () => {
      const { store, put } = await setup();
      const heard: string[] = [];
      const remove = store.onEvict((aor) => heard.push(aor));
      put('sip:a@x', 1000);
      store.delete('sip:a@x');
      remove();
      put('sip:b@x', 1000);
      store.delete('sip:b@x');
      expect(heard).toEqual(['sip:a@x']);
    });

    describe('under the capability table', () => {
      // TTL 10 s, hold-down 60 s: a hold-down outlives the evidence that caused it.
      const base = loadProfile('kamailio-lab');
      const profile: SipProfile = { ...base, capabilities: { ...base.capabilities, ttlSeconds: 10, holdDownSeconds: 60 } };

      async function tableOver(capacity = 10) {
        const ctx = await setup(capacity);
        const table = new CapabilityTable({ maxUsers: capacity, profile, store: ctx.store, now: () => ctx.clock.t });
        return { ...ctx, table };
      }

      it('evidence counts for the TTL; then the entry leaves as expired', async () => {
        const { clock, table, left } = await tableOver();
        table.recordPresence('sip:a@x', { kind: 'empty', receivedAt: clock.t });
        clock.t += 9_999;
        expect(table.decide('sip:a@x').rule).toBe('nothing-published');
        clock.t += 1;
        expect(table.decide('sip:a@x').rule).toBe('no-presence');
        expect(left).toEqual([['sip:a@x', 'expired']]);
        expect(table.stats()).toMatchObject({ size: 0, expirations: 1 });
      });

      it('a hold-down entry stays (and holds) past the evidence TTL until the hold-down ends', async () => {
        const { clock, table, store } = await tableOver();
        table.recordDelivery('sip:a@x', { status: 480 });
        clock.t += 30_000;
        expect(table.decide('sip:a@x')).toMatchObject({ reachability: 'unreachable', rule: 'hold-down' });
        expect(store.peek('sip:a@x')).toBeDefined();
        clock.t += 30_000;
        expect(table.decide('sip:a@x').rule).not.toBe('hold-down');
        expect(store.peek('sip:a@x')).toBeUndefined();
      });

      it('delivery outcomes are recorded with their attribution (admin view)', async () => {
        const { table } = await tableOver();
        table.recordDelivery('sip:ok@x', { status: 200 });
        table.recordDelivery('sip:core@x', { status: 503 });
        expect(table.entry('sip:ok@x')?.sources.delivery).toMatchObject({ outcome: 'delivered', status: 200, blame: 'none' });
        expect(table.entry('sip:core@x')?.sources.delivery).toMatchObject({ outcome: 'failed', status: 503, blame: 'core' });
        expect(table.decide('sip:core@x').rule).not.toBe('hold-down');
        expect(table.stats().deliveriesRecorded).toBe(2);
      });

      it('capacity evicts the least recently decided user; the table counts it', async () => {
        const { clock, table, left } = await tableOver(2);
        table.recordDelivery('sip:a@x', { status: 200 });
        clock.t += 1;
        table.recordDelivery('sip:b@x', { status: 200 });
        table.decide('sip:a@x');
        table.recordDelivery('sip:c@x', { status: 200 });
        expect(left).toEqual([['sip:b@x', 'capacity']]);
        expect(table.stats()).toMatchObject({ size: 2, evictions: 1 });
      });

      it('the admin listing shows every live user with its verdict', async () => {
        const { table } = await tableOver();
        table.recordDelivery('sip:a@x', { status: 200 });
        table.recordDelivery('sip:b@x', { status: 404 });
        const views = [...table.views()];
        expect(views.map((v) => [v.aor, v.decision.rule])).toEqual([
          ['sip:b@x', 'hold-down'],
          ['sip:a@x', 'delivered'],
        ]);
        expect([...table.views(1)]).toHaveLength(1);
      });
    });
  });
}

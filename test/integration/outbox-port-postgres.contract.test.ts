import { describe, expect, it } from 'vitest';
import { pgOutboxPort } from '../../src/push/store/postgres/pg-outbox-port.js';
import { postgresMissingReason, usePostgresDatabases } from '../support/postgres.js';
import { describeOutboxPortContract } from '../contract/outbox-port.contract.js';

const missing = postgresMissingReason();
if (missing) console.warn(`outbox-port-postgres contract: skipped: ${missing}`);

describe.skipIf(missing !== undefined)('PostgreSQL outbox port', () => {
  const databases = usePostgresDatabases();

  /** A fresh database; `agent(owner)` opens a store and its outbox port on it as that agent. */
  const freshDatabase = async () => {
    const open = await databases.freshDatabase('outbox');
    return async (owner: string, options: { leaseMs?: number; now?: () => number } = {}) => {
      const { pool, store } = await open(owner, options);
      return { pool, store, outbox: pgOutboxPort(store) };
    };
  };

  describeOutboxPortContract('PostgreSQL', async () => {
    const agent = await freshDatabase();
    let current = await agent('agent-1');
    return {
      store: current.store,
      outbox: current.outbox,
      async reopen() {
        await current.pool.end();
        current = await agent('agent-1');
        return { store: current.store, outbox: current.outbox };
      },
      async close() {
        await current.pool.end().catch(() => undefined);
      },
    };
  });

  it("lists and hands over only this agent's items; a dead agent's items once taken over", async () => {
    let clock = Date.now();
    const now = () => clock;
    const agent = await freshDatabase();
    const a = await agent('agent-a', { leaseMs: 5_000, now });
    const b = await agent('agent-b', { leaseMs: 5_000, now });
    for (const [who, pushId] of [
      [a, 'a-1'],
      [a, 'a-2'],
      [b, 'b-1'],
    ] as const) {
      await who.store.insert({ pushId, address: 'WAPPUSH=+1555/TYPE=PLMN', requestContentType: 'a/b', requestBody: Buffer.from('x') });
      await who.store.transition(
        pushId,
        'handing-back',
        {},
        { outbox: { kind: 'hand-back', url: 'http://ppg/', contentType: 'a/b', body: Buffer.from('x') } },
      );
    }
    const ids = async (port: typeof a.outbox) => (await port.pending(10, new Set())).items.map((i) => i.pushId);
    const fresh = async (port: typeof a.outbox) => {
      const taken = await port.takeNew();
      return taken === 'busy' ? 'busy' : taken.items.map((i) => i.pushId);
    };
    expect(await fresh(a.outbox)).toEqual(['a-1', 'a-2']);
    expect(await fresh(b.outbox)).toEqual(['b-1']);
    expect(await ids(a.outbox)).toEqual(['a-1', 'a-2']);
    expect(await ids(b.outbox)).toEqual(['b-1']);
    // agent-a stops renewing (dies); before its lease lapses nothing is taken, after it b takes both.
    expect(await b.store.leases.takeOverOutbox(100)).toEqual([]);
    clock += 6_000;
    await b.store.leases.renew(); // the survivor renews its own; agent-a's lapsed
    expect((await b.store.leases.takeOverOutbox(100)).length).toBe(2);
    expect(await ids(b.outbox)).toEqual(['a-1', 'a-2', 'b-1']);
    expect(await ids(a.outbox)).toEqual([]);
  });
});

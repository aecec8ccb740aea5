/**
 * The PostgreSQL outbox passes the same OutboxPort contract as SQLite's, on a real PostgreSQL (a fresh
 * database per case, reopened as a restart of the same agent with a new pool). Beyond the contract, on a
 * shared database: an agent lists only the items whose lease it holds and hands over only the items its
 * own transactions committed; a dead agent's items become another's once `takeOverOutbox` took them.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgOutboxPort } from '../../src/push/store/postgres/pg-outbox-port.js';
import { PgPushStore } from '../../src/push/store/postgres/pg-push-store.js';
import { migratePostgres } from '../../src/push/store/postgres/pg-schema.js';
import { stopAllProcesses } from '../support/cleanup.js';
import { type PostgresHandle, postgresMissingReason, startPostgres } from '../support/postgres.js';
import { describeOutboxPortContract } from '../contract/outbox-port.contract.js';

const missing = postgresMissingReason();
if (missing) console.warn(`outbox-port-postgres contract: skipped: ${missing}`);

describe.skipIf(missing !== undefined)('PostgreSQL outbox port', () => {
  let server: PostgresHandle;
  let admin: pg.Pool;
  let n = 0;
  const pools: pg.Pool[] = [];
  beforeAll(async () => {
    server = await startPostgres();
    admin = new pg.Pool({ connectionString: server.url, max: 2 });
  }, 60_000);
  afterAll(async () => {
    await Promise.all(pools.map((p) => p.end().catch(() => undefined)));
    await admin?.end();
    await stopAllProcesses();
  });

  /** A fresh database; `agent(owner)` opens a store on it as that agent. */
  const freshDatabase = async () => {
    const db = `outbox_${process.pid}_${n++}`;
    await admin.query(`CREATE DATABASE ${db}`);
    const url = server.url.replace(/\/postgres$/, `/${db}`);
    return async (owner: string, options: { leaseMs?: number; now?: () => number } = {}) => {
      const pool = new pg.Pool({ connectionString: url, max: 4 });
      pools.push(pool);
      await migratePostgres(pool);
      const store = new PgPushStore({ pool, owner, leaseMs: options.leaseMs ?? 30_000, ...(options.now ? { now: options.now } : {}) });
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

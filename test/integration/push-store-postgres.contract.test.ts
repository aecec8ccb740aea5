/**
 * The PostgreSQL push store passes the same PushStorePort contract as the SQLite store, on a real
 * PostgreSQL: a fresh database per case, reopened (a restart of the same agent, same instance id) with a
 * new connection pool.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe } from 'vitest';
import { PgPushStore } from '../../src/push/store/postgres/pg-push-store.js';
import { migratePostgres } from '../../src/push/store/postgres/pg-schema.js';
import { stopAllProcesses } from '../support/cleanup.js';
import { type PostgresHandle, postgresMissingReason, startPostgres } from '../support/postgres.js';
import { describePushStoreContract } from '../contract/push-store.contract.js';

const missing = postgresMissingReason();
if (missing) console.warn(`push-store-postgres contract: skipped: ${missing}`);

describe.skipIf(missing !== undefined)('PostgreSQL push store', () => {
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

  describePushStoreContract('PostgreSQL', async () => {
    const db = `contract_${process.pid}_${n++}`;
    await admin.query(`CREATE DATABASE ${db}`);
    const url = server.url.replace(/\/postgres$/, `/${db}`);
    const open = async () => {
      const pool = new pg.Pool({ connectionString: url, max: 4 });
      pools.push(pool);
      await migratePostgres(pool);
      return { pool, store: new PgPushStore({ pool, owner: 'agent-1', leaseMs: 30_000 }) };
    };
    let current = await open();
    return {
      store: current.store,
      async reopen() {
        await current.pool.end();
        current = await open();
        return current.store;
      },
      async close() {
        await current.pool.end().catch(() => undefined);
      },
    };
  });
});

/**
 * The PostgreSQL push store passes the same PushStorePort contract as the SQLite store, on a real
 * PostgreSQL: a fresh database per case, reopened (a restart of the same agent, same instance id) with a
 * new connection pool.
 */
import { describe } from 'vitest';
import { postgresMissingReason, usePostgresDatabases } from '../support/postgres.js';
import { describePushStoreContract } from '../contract/push-store.contract.js';

const missing = postgresMissingReason();
if (missing) console.warn(`push-store-postgres contract: skipped: ${missing}`);

describe.skipIf(missing !== undefined)('PostgreSQL push store', () => {
  const databases = usePostgresDatabases();

  describePushStoreContract('PostgreSQL', async () => {
    const agent = await databases.freshDatabase('contract');
    const open = () => agent('agent-1');
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

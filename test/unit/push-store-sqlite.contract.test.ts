/** The SQLite push store, through its port, passes the PushStorePort contract (a file per test, reopened for restarts). */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PushStore } from '../../src/push/store/sqlite/sqlite-push-store.js';
import { sqlitePushStorePort } from '../../src/push/store/sqlite/sqlite-push-store-port.js';
import { describePushStoreContract } from '../contract/push-store.contract.js';

describePushStoreContract('SQLite', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'spa-contract-')), 'pushes.sqlite');
  let db = PushStore.open(path);
  return {
    store: sqlitePushStorePort(db),
    async reopen() {
      db.close();
      db = PushStore.open(path);
      return sqlitePushStorePort(db);
    },
    async close() {
      db.close();
    },
  };
});

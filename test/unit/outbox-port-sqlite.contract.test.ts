/** The SQLite outbox, through its port, passes the OutboxPort contract (a file per test, reopened for restarts). */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sqliteOutboxPort } from '../../src/push/store/sqlite/sqlite-outbox-port.js';
import { PushStore } from '../../src/push/store/sqlite/sqlite-push-store.js';
import { sqlitePushStorePort } from '../../src/push/store/sqlite/sqlite-push-store-port.js';
import { describeOutboxPortContract } from '../contract/outbox-port.contract.js';

describeOutboxPortContract('SQLite', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'spa-outbox-contract-')), 'pushes.sqlite');
  let db = PushStore.open(path);
  return {
    store: sqlitePushStorePort(db),
    outbox: sqliteOutboxPort(db),
    async reopen() {
      db.close();
      db = PushStore.open(path);
      return { store: sqlitePushStorePort(db), outbox: sqliteOutboxPort(db) };
    },
    async close() {
      db.close();
    },
  };
});

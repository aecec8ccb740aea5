/**
 * Group commit in the push store: concurrent durable writes share one transaction (one fsync at FULL),
 * a failing item is refused alone (savepoint per item), promises resolve only after the COMMIT, and a
 * crash before the flush loses exactly the writes whose promises never resolved (real SIGKILL).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AgentError } from '../../src/errors.js';
import type { NewPushRecord } from '../../src/push/store/push-record.js';
import { PushStore, type PushStoreOptions } from '../../src/push/store/sqlite/sqlite-push-store.js';
import { codeOfAsync } from '../support/error-code.js';

function newPush(pushId: string): NewPushRecord {
  return {
    pushId,
    address: 'WAPPUSH=+15551234567/TYPE=PLMN@ppg.example.com',
    requestContentType: 'multipart/related; boundary=abc; type="application/xml"',
    requestBody: Buffer.from([0x00, 0xff, 0x41]),
  };
}

const OUTBOX = {
  kind: 'result-notification' as const,
  url: 'http://127.0.0.1:9/notify',
  contentType: 'application/xml',
  body: Buffer.from('<x/>'),
};

describe('PushStore group commit (FULL, on a file)', () => {
  let dir: string;
  let path: string;
  let sql: string[];
  let store: PushStore;
  const open = (opts: PushStoreOptions = {}): PushStore => PushStore.open(path, { onSql: (s) => sql.push(s), ...opts });
  const begins = (): number => sql.filter((s) => s.startsWith('BEGIN')).length;
  const commits = (): number => sql.filter((s) => s === 'COMMIT').length;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'push-store-gc-'));
    path = join(dir, 'pushes.sqlite');
    sql = [];
    store = open();
    expect(store.sqliteSettings().synchronous).toBe(2);
    sql.length = 0;
  });

  afterEach(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('200 concurrent inserts commit in ONE transaction, and every promise resolves with its record', async () => {
    const ids = Array.from({ length: 200 }, (_, i) => `c${i}`);
    const records = await Promise.all(ids.map((id) => store.insertDurable(newPush(id))));
    expect(records.map((r) => [r.pushId, r.state])).toEqual(ids.map((id) => [id, 'accepted']));
    expect(begins()).toBe(1);
    expect(commits()).toBe(1);
    expect(store.groupCommitStats()).toEqual({ flushes: 1, items: 200, largestBatch: 200, pending: 0 });
    expect(store.countsByState().accepted).toBe(200);
  });

  it('the same writes through the synchronous API cost one transaction each (the baseline)', () => {
    for (let i = 0; i < 20; i++) store.insert(newPush(`s${i}`));
    expect(begins()).toBe(20);
  });

  it('a duplicate push-id inside a batch is refused alone; the others commit', async () => {
    const results = await Promise.allSettled([
      store.insertDurable(newPush('d1')),
      store.insertDurable(newPush('d1')),
      store.insertDurable(newPush('d2')),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(((results[1] as PromiseRejectedResult).reason as AgentError).code).toBe('DUPLICATE_PUSH_ID');
    expect(begins()).toBe(1);
    expect(store.history('d1')).toHaveLength(1); // the duplicate's history row rolled back with it
    expect(store.get('d2')?.state).toBe('accepted');
  });

  it('an illegal transition inside a batch is refused alone, its outbox row rolled back with it', async () => {
    store.insert(newPush('t1'));
    store.insert(newPush('t2'));
    sql.length = 0;
    const ok = store.transitionDurable('t1', 'delivering', {}, { expectedFrom: 'accepted' });
    const illegal = store.transitionDurable('t2', 'delivered', { sipStatus: 200 }, { outbox: OUTBOX });
    const guarded = store.transitionDurable('t2', 'expired', {}, { expectedFrom: 'delivering' });
    const unknown = store.transitionDurable('ghost', 'delivering');
    expect((await ok).state).toBe('delivering');
    expect(await codeOfAsync(illegal)).toBe('PUSH_STATE_CONFLICT');
    expect(await codeOfAsync(guarded)).toBe('PUSH_STATE_CONFLICT');
    expect(await codeOfAsync(unknown)).toBe('PUSH_NOT_FOUND');
    expect(begins()).toBe(1);
    expect(store.get('t2')?.state).toBe('accepted');
    expect(store.history('t2').map((h) => h.to)).toEqual(['accepted']);
    expect(store.outbox.listForPush('t2')).toEqual([]);
  });

  it('keeps call order inside a batch: insert → delivering → delivered + outbox row commit together', async () => {
    const steps = [
      store.insertDurable(newPush('o1')),
      store.transitionDurable('o1', 'delivering', {}, { expectedFrom: 'accepted' }),
      store.transitionDurable('o1', 'delivered', { sipStatus: 200 }, { expectedFrom: 'delivering', outbox: OUTBOX }),
    ];
    expect((await Promise.all(steps)).map((r) => r.state)).toEqual(['accepted', 'delivering', 'delivered']);
    expect(begins()).toBe(1);
    expect(store.outbox.listForPush('o1').map((o) => o.kind)).toEqual(['result-notification']);
  });

  it('resolves only after the COMMIT: another connection sees the row when (and not before) the promise resolves', async () => {
    const other = new BetterSqlite3(path, { readonly: true });
    try {
      const seen = () => other.prepare('SELECT COUNT(*) AS n FROM pushes WHERE push_id = ?').get('v1') as { n: number };
      let resolved = false;
      const p = store.insertDurable(newPush('v1')).then(() => (resolved = true));
      await Promise.resolve();
      expect(resolved).toBe(false);
      expect(seen().n).toBe(0);
      expect(store.groupCommitStats().pending).toBe(1);
      await p;
      expect(seen().n).toBe(1);
    } finally {
      other.close();
    }
  });

  it('a synchronous write commits the queued work first, in the same transaction (order of calls = order of commits)', async () => {
    const queued = store.insertDurable(newPush('q1'));
    // Without the piggyback this would be PUSH_NOT_FOUND: the insert is still queued.
    expect(store.transition('q1', 'cancelled', {}, { expectedFrom: 'accepted' }).state).toBe('cancelled');
    expect(begins()).toBe(1);
    expect((await queued).state).toBe('accepted');
    // A throwing synchronous body rolls back alone; the queued work it carried still commits.
    const queued2 = store.insertDurable(newPush('q2'));
    expect(() =>
      store.runInTransaction(() => {
        store.insert(newPush('q3'));
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect((await queued2).pushId).toBe('q2');
    expect(store.get('q3')).toBeUndefined();
  });

  it('bounds a batch at maxBatch items', async () => {
    store.close();
    sql.length = 0;
    store = open({ maxBatch: 10 });
    sql.length = 0;
    await Promise.all(Array.from({ length: 25 }, (_, i) => store.insertDurable(newPush(`m${i}`))));
    expect(store.groupCommitStats()).toMatchObject({ flushes: 3, items: 25, largestBatch: 10 });
    expect(begins()).toBe(3);
  });

  it('close() commits what is queued', async () => {
    const p = store.insertDurable(newPush('k1'));
    store.close();
    expect((await p).pushId).toBe('k1');
    store = open();
    expect(store.get('k1')?.state).toBe('accepted');
  });
});

describe('PushStore group commit across a crash (SIGKILL)', () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps every write whose promise resolved and none of those queued when the process died', () => {
    dir = mkdtempSync(join(tmpdir(), 'push-store-crash-'));
    const dbPath = join(dir, 'pushes.sqlite');
    const script = join(dir, 'crash.mts'); // .mts: ESM, so top-level await works
    const storeModule = resolve('src/push/store/sqlite/sqlite-push-store.ts');
    writeFileSync(
      script,
      `
      import { writeSync } from 'node:fs';
      import { PushStore } from ${JSON.stringify(storeModule)};
      const store = PushStore.open(${JSON.stringify(dbPath)});
      const rec = (id: string) => ({ pushId: id, address: 'a', requestContentType: 'text/plain', requestBody: Buffer.from('x') });
      const acked = await Promise.all(Array.from({ length: 20 }, (_, i) => store.insertDurable(rec('a' + i))));
      writeSync(1, 'ACKED ' + acked.map((r) => r.pushId).join(',') + '\\n');
      for (let i = 0; i < 20; i++) void store.insertDurable(rec('b' + i)).then(() => writeSync(1, 'LEAK\\n'));
      process.kill(process.pid, 'SIGKILL');
    `,
    );
    const child = spawnSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8', timeout: 30_000 });
    expect(child.stderr).not.toMatch(/Error/);
    expect(child.signal).toBe('SIGKILL');
    expect(child.stdout).toContain('ACKED a0,');
    expect(child.stdout).not.toContain('LEAK');

    const store = PushStore.open(dbPath);
    try {
      const ids = new Set(store.listResumable().map((r) => r.pushId));
      for (let i = 0; i < 20; i++) expect(ids.has(`a${i}`)).toBe(true);
      for (let i = 0; i < 20; i++) expect(ids.has(`b${i}`)).toBe(false);
    } finally {
      store.close();
    }
  }, 40_000);
});

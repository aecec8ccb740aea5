/**
 * Schema 4 → 5 on a file the previous agent wrote (test/fixtures/store/pushes-v4.db: four pushes —
 * delivered with a result notification, handing-back with its hand-back queued, accepted for later,
 * delivering — written through that agent's PushStore): every history row moves into its push, in order
 * and with its detail byte for byte; the outbox, the resume list and further moves keep working.
 */
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { SCHEMA_VERSION } from '../../src/push/store/sqlite/schema.js';
import { PushStore } from '../../src/push/store/sqlite/sqlite-push-store.js';

const FIXTURE = join(import.meta.dirname, '../fixtures/store/pushes-v4.db');
const T0 = 1_700_000_000_000; // the fixture's clock: +1 s per timestamp taken

describe('push store migration from schema 4 (a file the previous agent wrote)', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  function openCopy(): { store: PushStore; path: string } {
    dir = mkdtempSync(join(tmpdir(), 'spa-migrate-'));
    const path = join(dir, 'pushes.sqlite');
    copyFileSync(FIXTURE, path);
    const raw = new BetterSqlite3(path, { readonly: true });
    expect(raw.pragma('user_version', { simple: true })).toBe(4);
    raw.close();
    return { store: PushStore.open(path), path };
  }

  it('moves each push history into its row, in order, details intact; the old table is gone', () => {
    const { store, path } = openCopy();
    try {
      expect(store.history('old-delivered')).toEqual([
        { from: undefined, to: 'accepted', at: T0 + 1000, detail: {} },
        { from: 'accepted', to: 'delivering', at: T0 + 2000, detail: {} },
        { from: 'delivering', to: 'delivered', at: T0 + 3000, detail: { sipStatus: 200, reason: 'SIP 200 "OK", fine — ✓' } },
      ]);
      expect(store.history('old-handing-back').map((h) => [h.from, h.to, h.detail])).toEqual([
        [undefined, 'accepted', {}],
        ['accepted', 'handing-back', { bearerHint: 'SMS', reason: 'not reachable', note: 'x,{"y"}' }],
      ]);
      expect(store.history('old-accepted').map((h) => h.to)).toEqual(['accepted']);
      expect(store.history('nope')).toEqual([]);
    } finally {
      store.close();
    }
    const raw = new BetterSqlite3(path, { readonly: true });
    try {
      expect(raw.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
      expect(raw.prepare("SELECT name FROM sqlite_master WHERE name = 'push_history'").all()).toEqual([]);
    } finally {
      raw.close();
    }
  });

  it('keeps the rows, the outbox and the resume list; moves after the migration append to the history', async () => {
    const { store } = openCopy();
    try {
      const delivered = store.get('old-delivered');
      expect(delivered).toMatchObject({ state: 'delivered', sipStatus: 200, notifyTo: 'http://pi.example/notify', sipAttempts: 1 });
      expect(delivered?.requestBody.equals(Buffer.from([0, 1, 2, 255, 0x22, 0x2c]))).toBe(true);
      expect(delivered?.messageIdentity).toEqual({ callId: 'old-delivered-call@sip-push-agent', fromTag: 'abc123', cseq: 1 });
      expect(store.outbox.listForPush('old-handing-back').map((i) => [i.kind, i.body.toString(), i.doneAt])).toEqual([
        ['hand-back', '<pap/>', undefined],
      ]);
      expect(store.listResumableDue().map((r) => [r.pushId, r.state])).toEqual([
        ['old-handing-back', 'handing-back'],
        ['old-accepted', 'accepted'],
        ['old-delivering', 'delivering'],
      ]);
      await store.transitionDurable('old-delivering', 'accepted', { note: 'resumed after restart' });
      await store.transitionDurable('old-delivering', 'delivering', {}, { expectedFrom: 'accepted' });
      const done = await store.transitionDurable('old-delivering', 'delivered', { sipStatus: 200 }, { expectedFrom: 'delivering' });
      expect(done.sipAttempts).toBe(2);
      expect(store.history('old-delivering').map((h) => [h.from, h.to])).toEqual([
        [undefined, 'accepted'],
        ['accepted', 'delivering'],
        ['delivering', 'accepted'],
        ['accepted', 'delivering'],
        ['delivering', 'delivered'],
      ]);
    } finally {
      store.close();
    }
  });
});

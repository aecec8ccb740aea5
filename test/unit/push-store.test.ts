import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { OutboxKind } from '../../src/push/outbox/outbox-item.js';
import type { NewPushRecord } from '../../src/push/store/push-record.js';
import { PUSH_STATES, canTransition, isTerminal, type PushState } from '../../src/push/store/push-state.js';
import { PushStore } from '../../src/push/store/sqlite/sqlite-push-store.js';
import { SCHEMA_VERSION } from '../../src/push/store/sqlite/schema.js';
import { codeOf } from '../support/error-code.js';

/** WBXML-ish bytes with NUL and high bytes: must come back byte-exact. */
const BINARY = Buffer.from([0x02, 0x05, 0x6a, 0x00, 0x45, 0xc6, 0xff, 0x0d, 0x0a, 0x00]);

function newPush(pushId: string, extra: Partial<NewPushRecord> = {}): NewPushRecord {
  return {
    pushId,
    address: 'WAPPUSH=+15551234567/TYPE=PLMN@ppg.example.com',
    requestContentType: 'multipart/related; boundary=abc; type="application/xml"',
    requestBody: BINARY,
    ...extra,
  };
}

describe('PushStore on a SQLite file', () => {
  let dir: string;
  let path: string;
  let clock: number;
  const now = (): number => clock;
  const open = (): PushStore => PushStore.open(path, { now });
  let store: PushStore;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'push-store-'));
    path = join(dir, 'pushes.sqlite');
    clock = 1_700_000_000_000;
    store = open();
  });

  afterEach(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs the file in WAL mode with synchronous=FULL and the current schema', () => {
    expect(store.sqliteSettings()).toEqual({ journalMode: 'wal', synchronous: 2 });
    const normal = PushStore.open(join(dir, 'normal.sqlite'), { synchronous: 'NORMAL' });
    expect(normal.sqliteSettings().synchronous).toBe(1);
    normal.close();
    const raw = new BetterSqlite3(path, { readonly: true });
    try {
      expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(raw.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    } finally {
      raw.close();
    }
  });

  it('refuses a database written by a newer agent', () => {
    store.close();
    const raw = new BetterSqlite3(path);
    raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    raw.close();
    expect(codeOf(() => open())).toBe('STORE_SCHEMA_UNSUPPORTED');
    store = PushStore.open(':memory:'); // for afterEach
  });

  it('records the submitting PI; a push stored without one reads as undefined', () => {
    expect(store.insert(newPush('by-a', { submittedBy: 'pi-a' })).submittedBy).toBe('pi-a');
    expect(store.insert(newPush('by-none')).submittedBy).toBeUndefined();
    expect(store.get('by-a')?.submittedBy).toBe('pi-a');
  });

  it('inserts a push as accepted, keeping the request bytes exact', () => {
    const rec = store.insert(newPush('p1', { aor: 'sip:alice@lab', deliverBefore: clock + 60_000, notifyTo: 'http://ppg/n' }));
    expect(rec).toMatchObject({ pushId: 'p1', state: 'accepted', aor: 'sip:alice@lab', source: 'pap', createdAt: clock });
    expect(rec.deliverBefore).toBe(clock + 60_000);
    expect(store.get('p1')?.requestBody.equals(BINARY)).toBe(true);
    expect(store.history('p1')).toEqual([{ from: undefined, to: 'accepted', at: clock, detail: {} }]);
    expect(store.get('nope')).toBeUndefined();
  });

  it('refuses a duplicate push-id, also after close and reopen (PAP 2007)', () => {
    store.insert(newPush('dup'));
    expect(codeOf(() => store.insert(newPush('dup')))).toBe('DUPLICATE_PUSH_ID');
    store.close();
    store = open();
    expect(codeOf(() => store.insert(newPush('dup')))).toBe('DUPLICATE_PUSH_ID');
    expect(store.history('dup')).toHaveLength(1);
  });

  it('applies a legal transition with its detail and history', () => {
    store.insert(newPush('t1'));
    clock += 10;
    store.transition('t1', 'delivering', { note: 'MESSAGE sent' });
    clock += 10;
    const rec = store.transition('t1', 'handing-back', { reason: 'sip 480', sipStatus: 480, bearerHint: 'SMS' });
    expect(rec).toMatchObject({ state: 'handing-back', reason: 'sip 480', sipStatus: 480, bearerHint: 'SMS', updatedAt: clock });
    clock += 10;
    const done = store.transition('t1', 'handed-back');
    expect(done.bearerHint).toBe('SMS'); // latest detail kept when a later step adds none
    expect(store.history('t1').map((h) => [h.from, h.to, h.at])).toEqual([
      [undefined, 'accepted', clock - 30],
      ['accepted', 'delivering', clock - 20],
      ['delivering', 'handing-back', clock - 10],
      ['handing-back', 'handed-back', clock],
    ]);
    expect(store.history('t1')[2]?.detail).toEqual({ reason: 'sip 480', sipStatus: 480, bearerHint: 'SMS' });
  });

  it('refuses an illegal transition and leaves state and history untouched', () => {
    store.insert(newPush('t2'));
    expect(codeOf(() => store.transition('t2', 'delivered'))).toBe('PUSH_STATE_CONFLICT');
    store.transition('t2', 'cancelled');
    expect(codeOf(() => store.transition('t2', 'delivering'))).toBe('PUSH_STATE_CONFLICT');
    expect(store.get('t2')?.state).toBe('cancelled');
    expect(store.history('t2')).toHaveLength(2);
  });

  it('honours the compare-and-set guard and reports unknown pushes', () => {
    store.insert(newPush('t3'));
    store.transition('t3', 'delivering');
    expect(codeOf(() => store.transition('t3', 'expired', {}, { expectedFrom: 'accepted' }))).toBe('PUSH_STATE_CONFLICT');
    expect(store.transition('t3', 'expired', {}, { expectedFrom: ['accepted', 'delivering'] }).state).toBe('expired');
    expect(codeOf(() => store.transition('ghost', 'delivering'))).toBe('PUSH_NOT_FOUND');
  });

  it('lists resumable pushes after a reopen, with counts and backlog', () => {
    store.insert(newPush('r1'));
    clock += 1;
    store.insert(newPush('r2'));
    store.transition('r2', 'delivering');
    clock += 1;
    store.insert(newPush('r3'));
    store.transition('r3', 'cancelled');
    store.close();
    store = open();
    const resumable = store.listResumable();
    expect(resumable.map((r) => [r.pushId, r.state])).toEqual([
      ['r1', 'accepted'],
      ['r2', 'delivering'],
    ]);
    expect(resumable[1]?.requestBody.equals(BINARY)).toBe(true);
    expect(store.backlog()).toBe(2);
    expect(store.countsByState()).toEqual({
      accepted: 1,
      delivering: 1,
      'handing-back': 0,
      delivered: 0,
      'handed-back': 0,
      'hand-back-refused': 0,
      'hand-back-abandoned': 0,
      expired: 0,
      cancelled: 1,
      unconfirmed: 0,
    });
    // The light form a restart schedules from: no bodies.
    expect(store.listResumableDue()).toEqual([
      { pushId: 'r1', state: 'accepted', deliverAfter: undefined },
      { pushId: 'r2', state: 'delivering', deliverAfter: undefined },
    ]);
    store.transition('r2', 'accepted', { note: 'resume after crash' });
    expect(store.countsByState().accepted).toBe(2);
  });

  it('queues an outbox item in the same transaction as the state change', () => {
    store.insert(newPush('o1'));
    const hb = {
      kind: 'hand-back' as const,
      url: 'http://127.0.0.1:1/hb',
      contentType: 'multipart/related; boundary=x',
      body: BINARY,
      headers: { 'x-bearer-hint': 'SMS' },
    };
    store.transition('o1', 'handing-back', { bearerHint: 'SMS' }, { outbox: hb });
    const [item] = store.outbox.listForPush('o1');
    expect(item).toMatchObject({ kind: 'hand-back', attempts: 0, nextAttemptAt: clock, headers: { 'x-bearer-hint': 'SMS' } });
    expect(item?.body.equals(BINARY)).toBe(true);
    expect(store.outbox.stats()).toEqual({ pending: 1, parked: 0, done: 0, refused: 0, gaveUp: 0 });
  });

  it('rolls the state change back when the outbox enqueue fails', () => {
    store.insert(newPush('o2'));
    const bad = { kind: 'bogus' as unknown as OutboxKind, url: 'http://x/', contentType: 'text/plain', body: Buffer.from('x') };
    let sqliteCode: unknown;
    try {
      store.transition('o2', 'handing-back', {}, { outbox: bad });
    } catch (err) {
      sqliteCode = (err as { code?: unknown }).code;
    }
    expect(sqliteCode).toBe('SQLITE_CONSTRAINT_CHECK');
    expect(store.get('o2')?.state).toBe('accepted');
    expect(store.history('o2')).toHaveLength(1);
    expect(store.outbox.listForPush('o2')).toEqual([]);
  });

  it('prunes old terminal pushes with their history and outbox rows, keeping what is owed', () => {
    store.insert(newPush('old-done'));
    store.transition('old-done', 'handing-back', {}, { outbox: { kind: 'hand-back', url: 'http://x/', contentType: 'a/b', body: BINARY } });
    const [acked] = store.outbox.listForPush('old-done');
    store.outbox.markAcknowledged(acked!.id);
    store.transition('old-done', 'handed-back');
    store.insert(newPush('old-owing'));
    store.transition(
      'old-owing',
      'expired',
      {},
      { outbox: { kind: 'result-notification', url: 'http://x/', contentType: 'application/xml', body: BINARY } },
    );
    store.insert(newPush('old-open'));
    clock += 10_000;
    store.insert(newPush('young-done'));
    store.transition('young-done', 'cancelled');
    clock += 1_000;

    expect(store.prune(5_000)).toBe(1);
    expect(store.get('old-done')).toBeUndefined();
    expect(store.history('old-done')).toEqual([]);
    expect(store.outbox.listForPush('old-done')).toEqual([]);
    expect(store.get('old-owing')?.state).toBe('expired');
    expect(store.get('old-open')?.state).toBe('accepted');
    expect(store.get('young-done')?.state).toBe('cancelled');
    // The push-id is free again once pruned (retention bounds the duplicate window).
    expect(store.insert(newPush('old-done')).state).toBe('accepted');
  });

  it('never lets a push reach two terminal states (property)', () => {
    let n = 0;
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...PUSH_STATES), { maxLength: 12 }), (targets) => {
        const pushId = `prop-${n++}`;
        store.insert(newPush(pushId));
        let model: PushState = 'accepted';
        for (const to of targets) {
          const allowed = canTransition(model, to);
          const code = codeOf(() => store.transition(pushId, to));
          expect(code).toBe(allowed ? undefined : 'PUSH_STATE_CONFLICT');
          if (allowed) model = to;
          expect(store.get(pushId)?.state).toBe(model);
        }
        const terminalsReached = store.history(pushId).filter((h) => isTerminal(h.to));
        expect(terminalsReached.length).toBeLessThanOrEqual(1);
        expect(store.history(pushId).at(-1)?.to).toBe(model);
      }),
      { numRuns: 200 },
    );
  });
});

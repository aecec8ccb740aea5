/**
 * What one push costs the SQLite store, counted statement by statement (the store's `onSql` sees every
 * statement the connection runs, BEGIN/COMMIT/SAVEPOINT included): accept → delivering → delivered through
 * the real push core (a stand-in SIP engine answering 200), without and with a result notification
 * (ended through the outbox port's settle, as the dispatcher does on the answer). One push at a
 * time, so nothing shares a commit: the worst case per push.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ReachabilityOracle } from '../../src/capabilities/reachability-oracle.js';
import { PapEndpoint } from '../../src/intake/pap/pap-endpoint.js';
import { silentLogger } from '../../src/lib/logger.js';
import { loadProfile } from '../../src/profiles/load-profile.js';
import { PushCore } from '../../src/push/push-core.js';
import { PushStore } from '../../src/push/store/sqlite/sqlite-push-store.js';
import { sqliteOutboxPort } from '../../src/push/store/sqlite/sqlite-outbox-port.js';
import { sqlitePushStorePort } from '../../src/push/store/sqlite/sqlite-push-store-port.js';
import { papPush, userAddress } from '../support/agent-under-test.js';
import { waitFor } from '../support/poll.js';
import { stubEngine } from '../support/stub-engine.js';

const oracle: ReachabilityOracle = {
  decide: async () => ({ reachability: 'reachable', acceptedApps: 'any', bearerHint: 'SMS', reason: 'open' }),
  recordDelivery: () => undefined,
};

interface Counted {
  statements: number;
  commits: number;
  savepoints: number;
  bodyReads: number;
}

function count(sql: readonly string[]): Counted {
  // A write outside BEGIN … COMMIT commits by itself: it is a commit too.
  let open = false;
  let commits = 0;
  for (const s of sql) {
    if (/^BEGIN/.test(s)) open = true;
    else if (s === 'COMMIT') {
      open = false;
      commits += 1;
    } else if (!open && /^\s*(INSERT|UPDATE|DELETE|REPLACE)\b/i.test(s)) commits += 1;
  }
  return {
    statements: sql.length,
    commits,
    savepoints: sql.filter((s) => /^SAVEPOINT/.test(s)).length,
    bodyReads: sql.filter((s) => /^\s*SELECT\b[\s\S]*(\brequest_body\b|\*)[\s\S]*\bFROM pushes\b/i.test(s)).length,
  };
}

describe('statements per delivered push (SQLite store, one push at a time)', () => {
  let dir: string | undefined;
  let store: PushStore | undefined;
  afterEach(() => {
    store?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function deliverOne(notify: boolean): Promise<{ sql: string[]; history: string[] }> {
    dir = mkdtempSync(join(tmpdir(), 'spa-stmt-'));
    const sql: string[] = [];
    let counting = false;
    store = PushStore.open(join(dir, 'p.sqlite'), { onSql: (s) => counting && sql.push(s.trim()) });
    const port = sqlitePushStorePort(store);
    const core = new PushCore({
      store: port,
      engine: stubEngine(),
      oracle,
      profile: loadProfile('kamailio-lab'),
      logger: silentLogger(),
      handBackUrl: 'http://127.0.0.1:9/handback',
      policy: 'presence-aware',
      maxInFlight: 10,
      maxQueued: 10,
    });
    const pap = new PapEndpoint(core, {});
    // A first push warms the statement cache (prepared on first use), then the measured one.
    for (const id of ['warm', 'm1']) {
      counting = id === 'm1';
      const { contentType, body } = papPush({
        pushId: id,
        address: userAddress('sip:alice@127.0.0.1'),
        content: Buffer.from('hello'),
        contentType: 'text/plain',
        ...(notify && { notifyTo: 'http://127.0.0.1:9/notify' }),
      });
      expect((await pap.handlePap(contentType, body)).httpStatus).toBe(202);
      const s = store;
      // Synchronised on the group commit's counters (no SQL): insert, → delivering, → delivered.
      const items = id === 'warm' ? 3 : notify ? 7 : 6;
      await waitFor(() => s.groupCommitStats().items >= items && s.groupCommitStats().pending === 0, `${id} delivered`, 5000);
      counting = false;
      expect(s.get(id)?.state).toBe('delivered');
      if (notify) {
        const [item] = s.outbox.listForPush(id);
        expect(item?.kind).toBe('result-notification');
        counting = id === 'm1';
        const react = (ended: Parameters<typeof core.onOutboxSettled>[0], push: Parameters<typeof core.onOutboxSettled>[2]) =>
          core.onOutboxSettled(ended, { outcome: 'acknowledged', code: 1000, desc: 'OK' }, push);
        expect(await sqliteOutboxPort(s).settle(item!, { outcome: 'acknowledged' }, react)).toBe(true);
        counting = false;
      }
    }
    return { sql, history: store.history('m1').map((h) => h.to) };
  }

  it('accept → delivered: at most 4 statements, no savepoint, no read of the body, the full history kept', async () => {
    const { sql, history } = await deliverOne(false);
    const c = count(sql);
    expect(history).toEqual(['accepted', 'delivering', 'delivered']);
    expect(c.savepoints).toBe(0);
    // The one SELECT naming the body is intake's duplicate check, which finds no row: no body is read.
    expect(c.bodyReads).toBe(1);
    // Three writes (insert, → delivering, → delivered), each committing alone here, and that check.
    expect(c.statements, sql.join('\n')).toBeLessThanOrEqual(4);
    expect(c.commits).toBeLessThanOrEqual(3);
  });

  it('accept → delivered with a result notification, ended on the answer: at most 9 statements, no savepoint', async () => {
    const { sql } = await deliverOne(true);
    const c = count(sql);
    expect(c.savepoints).toBe(0);
    expect(c.bodyReads).toBe(1);
    // + the outbox row with the delivered move (BEGIN … COMMIT: two writes) and the ending: one read, one UPDATE.
    expect(c.statements, sql.join('\n')).toBeLessThanOrEqual(9);
    expect(c.commits).toBeLessThanOrEqual(4);
  });
});

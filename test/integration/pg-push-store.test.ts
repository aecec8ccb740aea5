/**
 * The PostgreSQL push store on a real PostgreSQL, shared by two agents: a push-id is unique across the
 * cluster; state changes are compare-and-set with their history and outbox rows in one commit; two agents
 * racing on one push — exactly one moves it; a survivor resumes a dead agent's open pushes after its lease
 * lapses; an outbox ending and its push move commit together; with the server stopped, writes fail as
 * STORE_UNWRITABLE and succeed again once it is back.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../src/errors.js';
import { PgPushStore } from '../../src/push/store/postgres/pg-push-store.js';
import { migratePostgres } from '../../src/push/store/postgres/pg-schema.js';
import { stopAllProcesses } from '../support/cleanup.js';
import { waitFor } from '../support/poll.js';
import { type PostgresHandle, postgresMissingReason, startPostgres } from '../support/postgres.js';

const missing = postgresMissingReason();
if (missing) console.warn(`pg-push-store: skipped: ${missing}`);

const body = Buffer.from([0x02, 0x05, 0x6a, 0x00, 0xff, 0x0d, 0x0a]);
const rec = (pushId: string) => ({
  pushId,
  address: 'WAPPUSH=+15551234/TYPE=PLMN@ppg.example.com',
  aor: 'sip:+15551234@ims.example.net',
  requestContentType: 'multipart/related; boundary=b',
  requestBody: body,
  messageIdentity: { callId: `${pushId}-call`, fromTag: 'ft', cseq: 1 },
});

describe.skipIf(missing !== undefined)('PostgreSQL push store', () => {
  let server: PostgresHandle;
  let poolA: pg.Pool;
  let poolB: pg.Pool;
  let clock = 2_000_000_000_000;
  const now = () => clock;
  let a: PgPushStore;
  let b: PgPushStore;

  beforeAll(async () => {
    server = await startPostgres();
    poolA = new pg.Pool({ connectionString: server.url, max: 4, connectionTimeoutMillis: 2_000 });
    poolB = new pg.Pool({ connectionString: server.url, max: 4, connectionTimeoutMillis: 2_000 });
    for (const p of [poolA, poolB]) p.on('error', () => undefined); // idle clients dropped by a server stop
    await migratePostgres(poolA);
    a = new PgPushStore({ pool: poolA, owner: 'agent-a', leaseMs: 5_000, now });
    b = new PgPushStore({ pool: poolB, owner: 'agent-b', leaseMs: 5_000, now });
  }, 60_000);
  afterAll(async () => {
    await poolA?.end();
    await poolB?.end();
    await stopAllProcesses();
  });

  it('a push-id is unique across agents (2007 from the second), the body stays byte-exact', async () => {
    const stored = await a.insert(rec('p1'));
    expect(stored.state).toBe('accepted');
    await expect(b.insert(rec('p1'))).rejects.toMatchObject({ code: ErrorCodes.DUPLICATE_PUSH_ID });
    expect((await b.get('p1'))?.requestBody.equals(body)).toBe(true);
    expect((await b.get('p1'))?.messageIdentity).toEqual({ callId: 'p1-call', fromTag: 'ft', cseq: 1 });
    expect(await a.history('p1')).toEqual([{ from: undefined, to: 'accepted', at: clock, detail: {} }]);
  });

  it('two agents racing on one push: exactly one moves it, the other gets PUSH_STATE_CONFLICT', async () => {
    await a.insert(rec('race'));
    const results = await Promise.allSettled([
      a.transition('race', 'delivering', {}, { expectedFrom: 'accepted' }),
      b.transition('race', 'cancelled', { reason: 'cancelled by PI' }, { expectedFrom: 'accepted' }),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(lost.reason).toMatchObject({ code: ErrorCodes.PUSH_STATE_CONFLICT });
    expect((await a.history('race')).map((h) => h.to)).toHaveLength(2);
    await expect(a.transition('nope', 'delivering')).rejects.toMatchObject({ code: ErrorCodes.PUSH_NOT_FOUND });
  });

  it('writes to one push asked for together commit in the order asked, even over a pool of several connections', async () => {
    // The pool hands each write its own connection; without ordering per push the second compare-and-set
    // sometimes reached the row lock first (seen as a flaky contract case on a loaded machine).
    const ids = Array.from({ length: 40 }, (_, i) => `order-${i}`);
    await Promise.all(ids.map((id) => a.insert(rec(id))));
    const outcomes = await Promise.all(
      ids.map(async (id) => {
        const first = a.transition(id, 'delivering', {}, { expectedFrom: 'accepted' });
        const second = a.transition(id, 'cancelled', {}, { expectedFrom: 'accepted' });
        const [one, two] = await Promise.allSettled([first, second]);
        return { first: one.status, second: two.status === 'rejected' ? (two.reason as { code?: string }).code : 'moved' };
      }),
    );
    expect(outcomes.filter((o) => o.first !== 'fulfilled' || o.second !== ErrorCodes.PUSH_STATE_CONFLICT)).toEqual([]);
    for (const id of ids) expect((await a.get(id))?.state).toBe('delivering');
  });

  it('a hand-back commits with its outbox item; settling it moves the push in the same commit', async () => {
    await a.insert(rec('hb'));
    await a.transition(
      'hb',
      'handing-back',
      { bearerHint: 'SMS', reason: 'not reachable' },
      {
        outbox: { kind: 'hand-back', url: 'http://ppg.example/pap', contentType: 'multipart/related; boundary=b', body },
      },
    );
    const [item] = await a.outboxFor('hb');
    expect(item?.body.equals(body)).toBe(true);
    const settled = await b.settleOutbox(item!.id, { outcome: 'acknowledged' }, (_it, push) =>
      push?.state === 'handing-back'
        ? { to: 'handed-back', detail: { papCode: 1001 }, options: { expectedFrom: 'handing-back' } }
        : undefined,
    );
    expect(settled).toBe(true);
    expect((await a.get('hb'))?.state).toBe('handed-back');
    expect(await b.settleOutbox(item!.id, { outcome: 'acknowledged' })).toBe(false); // ends once
    const failing = await a.insert(rec('hb2'));
    await a.transition(
      failing.pushId,
      'handing-back',
      {},
      { outbox: { kind: 'hand-back', url: 'http://ppg/', contentType: 'text/plain', body } },
    );
    const [item2] = await a.outboxFor('hb2');
    await expect(
      a.settleOutbox(item2!.id, { outcome: 'refused', error: 'PAP 2000' }, () => ({ to: 'delivered', detail: {}, options: {} })),
    ).rejects.toMatchObject({ code: ErrorCodes.PUSH_STATE_CONFLICT });
    expect((await a.outboxFor('hb2'))[0]?.outcome).toBe('refused'); // the ending stays, the bad move does not
    expect((await a.get('hb2'))?.state).toBe('handing-back');
  });

  it("a survivor resumes a dead agent's open pushes once its lease lapsed, and only then", async () => {
    for (let i = 0; i < 5; i++) await a.insert(rec(`orphan-${i}`));
    const before = (await b.listResumable()).map((r) => r.pushId);
    expect(before.some((id) => id.startsWith('orphan-'))).toBe(false);
    clock += 6_000; // agent-a stops renewing (dies); its leases lapse
    const after = (await b.listResumable()).map((r) => r.pushId);
    expect(after.filter((id) => id.startsWith('orphan-')).sort()).toEqual(['orphan-0', 'orphan-1', 'orphan-2', 'orphan-3', 'orphan-4']);
    expect((await a.listResumable()).some((r) => r.pushId.startsWith('orphan-'))).toBe(false);
  });

  it('server stopped: writes fail as STORE_UNWRITABLE; once it is back they succeed', async () => {
    await server.stop();
    await expect(a.insert(rec('while-down'))).rejects.toMatchObject({ code: ErrorCodes.STORE_UNWRITABLE });
    await expect(a.probeWrite()).rejects.toMatchObject({ code: ErrorCodes.STORE_UNWRITABLE });
    await server.restart();
    await a.probeWrite();
    expect((await a.insert(rec('after-restart'))).state).toBe('accepted');
  }, 60_000);

  it('a fast shutdown with transactions in flight: every write settles (committed or STORE_UNWRITABLE), no connection error escapes', async () => {
    // PostgreSQL's fast shutdown sends each backend a FATAL and closes it; a connection checked out for a
    // transaction but between two statements has no query to hand that error to, so node-postgres emits it
    // on the client — an uncaught 'error' event, a crashed agent, unless the store listens while it holds one.
    const escaped: unknown[] = [];
    const catcher = (err: unknown) => escaped.push(err);
    process.on('uncaughtException', catcher);
    const failures = new Set<string>();
    let stop = false;
    let n = 0;
    const lane = async (l: number) => {
      while (!stop) {
        await a.insert(rec(`fs-${l}-${n++}`)).catch((err: { code?: string }) => failures.add(String(err.code)));
      }
    };
    try {
      const lanes = Array.from({ length: 8 }, (_, l) => lane(l));
      await waitFor(() => n > 40, 'writes under way before the shutdown', 10_000);
      await server.stop();
      stop = true;
      await Promise.all(lanes);
    } finally {
      process.off('uncaughtException', catcher);
      await server.start();
    }
    expect(escaped).toEqual([]);
    expect([...failures]).toEqual([ErrorCodes.STORE_UNWRITABLE]);
    expect((await a.insert(rec('after-fast-shutdown'))).state).toBe('accepted');
  }, 60_000);
});

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/lib/logger.js';
import { OutboxDispatcher, type OutboxReaction } from '../../src/push/outbox/outbox-dispatcher.js';
import { buildHandBackPush } from '../../src/push/pap/hand-back-push.js';
import { pgOutboxPort } from '../../src/push/store/postgres/pg-outbox-port.js';
import type { PgPushStore } from '../../src/push/store/postgres/pg-push-store.js';
import { Pap10Ppg } from '../support/pap-ppg.js';
import { waitFor } from '../support/poll.js';
import { postgresMissingReason, usePostgresDatabases } from '../support/postgres.js';

const missing = postgresMissingReason();
if (missing) console.warn(`outbox-postgres: skipped: ${missing}`);

const CONTENT = Buffer.from([0x02, 0x05, 0x6a, 0x00, 0x45, 0xc6, 0x0d, 0x0a, 0x2d, 0x2d, 0xff, 0x00]);

/** What the pipeline decides for an ended hand-back (PushCore.onOutboxSettled, reduced to the moves). */
const react: OutboxReaction = (item, settlement, push) => {
  if (item.kind !== 'hand-back' || push?.state !== 'handing-back') return undefined;
  if (settlement.outcome === 'acknowledged')
    return { to: 'handed-back', detail: { papCode: settlement.code }, options: { expectedFrom: 'handing-back' } };
  const reason = settlement.outcome === 'refused' ? `PAP ${settlement.code}` : settlement.error;
  return {
    to: settlement.outcome === 'refused' ? 'hand-back-refused' : 'hand-back-abandoned',
    detail: { reason },
    options: { expectedFrom: 'handing-back' },
  };
};

describe.skipIf(missing !== undefined)('OutboxDispatcher on PostgreSQL', () => {
  const dispatchers: OutboxDispatcher[] = [];
  const ppg = new Pap10Ppg();
  const databases = usePostgresDatabases();

  beforeAll(async () => {
    await ppg.start();
  });
  afterEach(async () => {
    for (const d of dispatchers.splice(0)) await d.stop();
  });
  afterAll(async () => {
    await ppg.stop();
  });

  /** A fresh database; `agent(owner)` opens a store and a started dispatcher on it as that agent. */
  const freshDatabase = async () => {
    const open = await databases.freshDatabase('outbox_d');
    return async (owner: string, options: { leaseMs?: number; now?: () => number } = {}) => {
      const { store } = await open(owner, options);
      const dispatcher = new OutboxDispatcher({
        outbox: pgOutboxPort(store),
        logger: silentLogger(),
        backoff: { baseMs: 20, maxMs: 80, jitter: 0.5 },
        concurrency: 2,
        requestTimeoutMs: 2000,
        pollIntervalMs: 60_000, // far longer than a test: new items come from the stage, retries from the backoff timer
        react,
      });
      dispatchers.push(dispatcher);
      dispatcher.start();
      return { store, dispatcher };
    };
  };

  /** A push accepted and moved to handing-back with its PAP 1.0 hand-back queued in the same commit. */
  const handBack = async (store: PgPushStore, pushId: string) => {
    const address = 'WAPPUSH=+15551234567/TYPE=PLMN@ppg.example.com';
    await store.insert({ pushId, address, requestContentType: 'multipart/related; boundary=b', requestBody: CONTENT });
    const built = buildHandBackPush(
      {
        pushId,
        papVersion: '2.1',
        addresses: [address],
        qos: { bearerRequired: false, networkRequired: false },
        progressNotesRequested: false,
        content: { contentType: 'application/vnd.wap.sic', headers: { 'content-type': 'application/vnd.wap.sic' }, body: CONTENT },
      },
      { bearerHint: 'SMS', address, papVersion: '1.0' },
    );
    await store.transition(
      pushId,
      'handing-back',
      { bearerHint: 'SMS' },
      { outbox: { kind: 'hand-back', url: ppg.url('/pap'), contentType: built.contentType, body: built.body } },
    );
    const [item] = await store.outboxFor(pushId);
    return item?.id as number;
  };

  it('a temporary refusal (PAP 4001) is retried; the 1001 that follows hands the push back, once', async () => {
    const agent = await freshDatabase();
    const { store, dispatcher } = await agent('agent-1');
    ppg.scriptedCodes = [4001];
    const id = await handBack(store, 'pg-4001');
    dispatcher.kick();
    await waitFor(async () => (await store.get('pg-4001'))?.state === 'handed-back', 'handed-back after one refusal', 10_000);
    const posts = ppg.handBacks('pg-4001');
    expect(posts.map((p) => p.answeredCode)).toEqual([4001, 1001]);
    expect(posts.every((p) => p.refusal === undefined)).toBe(true);
    const [item] = await store.outboxFor('pg-4001');
    expect(item).toMatchObject({ id, attempts: 1, outcome: 'acknowledged' });
    expect(item?.lastError).toMatch(/4001/);
    expect((await store.get('pg-4001'))?.papCode).toBe(1001);
    expect((await store.history('pg-4001')).map((h) => h.to)).toEqual(['accepted', 'handing-back', 'handed-back']);
  });

  it('a PPG that is down is retried until it is back; then the hand-back is acknowledged', async () => {
    const agent = await freshDatabase();
    const { store, dispatcher } = await agent('agent-1');
    await ppg.stop();
    try {
      await handBack(store, 'pg-down');
      dispatcher.kick();
      await waitFor(async () => ((await store.outboxFor('pg-down'))[0]?.attempts ?? 0) >= 2, 'two refused connections', 10_000);
      expect((await store.get('pg-down'))?.state).toBe('handing-back');
    } finally {
      await ppg.start(ppg.port);
    }
    await waitFor(async () => (await store.get('pg-down'))?.state === 'handed-back', 'handed-back once the PPG is up', 10_000);
    expect(ppg.handBacks('pg-down').map((p) => p.answeredCode)).toEqual([1001]);
    expect((await store.outboxFor('pg-down'))[0]?.lastError).toMatch(/ECONNREFUSED|connect/i);
  });

  it("sends a dead agent's item only after taking it over and a rescan", async () => {
    let clock = Date.now();
    const now = () => clock;
    const agent = await freshDatabase();
    const dead = await agent('agent-dead', { leaseMs: 5_000, now });
    await dead.dispatcher.stop(); // it dies before sending
    const survivor = await agent('agent-live', { leaseMs: 5_000, now });
    await handBack(dead.store, 'pg-orphan');
    survivor.dispatcher.rescan();
    await waitFor(() => survivor.dispatcher.stats().spilled === false, 'the rescan read the table');
    expect(ppg.handBacks('pg-orphan')).toEqual([]); // not its item (yet)
    clock += 6_000; // the dead agent's lease lapses
    expect(await survivor.store.leases.takeOverOutbox(100)).toHaveLength(1);
    survivor.dispatcher.rescan();
    await waitFor(async () => (await survivor.store.get('pg-orphan'))?.state === 'handed-back', 'handed back by the survivor', 10_000);
    expect(ppg.handBacks('pg-orphan').map((p) => p.answeredCode)).toEqual([1001]);
  });
});

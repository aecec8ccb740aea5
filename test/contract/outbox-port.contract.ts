/**
 * The contract every OutboxPort implementation passes (SQLite and PostgreSQL): new items are handed over
 * once, after their transaction committed, and never when it rolled back; `pending` lists what is left,
 * earliest due first, honouring `skip` and telling whether it is complete; a failed attempt is counted
 * and rescheduled; `settle` ends an item and applies the push move in one commit, exactly once, and a
 * throwing reaction leaves nothing behind (the item stays pending and can be settled again); pending
 * items survive a restart.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { NewOutboxItem, OutboxItem } from '../../src/push/outbox/outbox-item.js';
import type { OutboxPort } from '../../src/push/outbox/outbox-port.js';
import type { NewPushRecord } from '../../src/push/store/push-record.js';
import type { PushMove, PushStorePort } from '../../src/push/store/push-store-port.js';

export interface OutboxUnderTest {
  /** The push store the items are queued through (transitions) and read back from. */
  store: PushStorePort;
  outbox: OutboxPort;
  /** Reopens the same storage (a restart of the same agent) and closes the old handles. */
  reopen(): Promise<{ store: PushStorePort; outbox: OutboxPort }>;
  close(): Promise<void>;
}

const rec = (pushId: string): NewPushRecord => ({
  pushId,
  address: 'WAPPUSH=+15551234567/TYPE=PLMN',
  aor: 'sip:+15551234567@example.com;user=phone',
  requestContentType: 'multipart/related; boundary=b',
  requestBody: Buffer.from([0, 1, 2, 255]),
  source: 'pap',
});

const BODY = Buffer.from([0x2d, 0x2d, 0x0d, 0x0a, 0x00, 0xff]);

const handBack = (pushId: string, notBefore?: number): NewOutboxItem => ({
  kind: 'hand-back',
  url: `http://ppg.example/pap?push=${pushId}`,
  contentType: 'multipart/related; boundary=x',
  body: BODY,
  headers: { 'x-test': pushId },
  ...(notBefore !== undefined ? { notBefore } : {}),
});

const notification = (pushId: string): NewOutboxItem => ({
  kind: 'result-notification',
  url: `http://pi.example/notify?push=${pushId}`,
  contentType: 'application/xml',
  body: Buffer.from('<rn/>'),
});

/** The pipeline's move for an acknowledged hand-back: handed-back, with the PI's notification queued. */
const handedBack = (pushId: string, after?: () => void): PushMove => ({
  to: 'handed-back',
  detail: { papCode: 1001 },
  options: { expectedFrom: 'handing-back', outbox: notification(pushId) },
  ...(after ? { after } : {}),
});

/** Everything new the port has, asking again while it says 'busy' (a transaction still open). */
async function takeAll(outbox: OutboxPort): Promise<OutboxItem[]> {
  for (let i = 0; i < 100; i++) {
    const fresh = await outbox.takeNew();
    if (fresh !== 'busy') return fresh.items;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error('takeNew stayed busy');
}

export function describeOutboxPortContract(name: string, make: () => Promise<OutboxUnderTest>): void {
  describe(`OutboxPort contract: ${name}`, () => {
    let sut: OutboxUnderTest | undefined;
    const open = async () => {
      sut = await make();
      return sut;
    };
    afterEach(async () => {
      await sut?.close();
      sut = undefined;
    });

    /** A push moved to handing-back with its hand-back queued in the same commit; returns that item. */
    const queued = async (store: PushStorePort, pushId: string, notBefore?: number): Promise<OutboxItem> => {
      await store.insert(rec(pushId));
      await store.transition(pushId, 'handing-back', { bearerHint: 'SMS' }, { outbox: handBack(pushId, notBefore) });
      const [item] = await store.outboxFor(pushId);
      if (!item) throw new Error(`no outbox item for ${pushId}`);
      return item;
    };

    it('hands a committed item over once, byte-exact, without the table', async () => {
      const { store, outbox } = await open();
      await takeAll(outbox); // whatever an earlier open left
      const item = await queued(store, 'n1');
      const taken = await takeAll(outbox);
      expect(taken.map((i) => i.id)).toEqual([item.id]);
      expect(taken[0]).toMatchObject({ pushId: 'n1', kind: 'hand-back', attempts: 0, headers: { 'x-test': 'n1' } });
      expect(taken[0]?.body.equals(BODY)).toBe(true);
      expect(taken[0]?.doneAt).toBeUndefined();
      expect(await takeAll(outbox)).toEqual([]);
    });

    it('lists pending items earliest due first, honours skip, and says when the list is complete', async () => {
      const { store, outbox } = await open();
      const base = Date.now();
      const late = await queued(store, 'q-late', base + 60_000);
      const early = await queued(store, 'q-early', base - 60_000);
      const middle = await queued(store, 'q-middle', base);
      const all = await outbox.pending(10, new Set());
      expect(all.items.map((i) => i.id)).toEqual([early.id, middle.id, late.id]);
      expect(all.complete).toBe(true);
      const first = await outbox.pending(1, new Set());
      expect(first.items.map((i) => i.id)).toEqual([early.id]);
      expect(first.complete).toBe(false);
      const skipped = await outbox.pending(2, new Set([early.id]));
      expect(skipped.items.map((i) => i.id)).toEqual([middle.id, late.id]);
      expect(skipped.complete).toBe(true);
      const exact = await outbox.pending(3, new Set());
      expect(exact.complete).toBe(true);
    });

    it('records a failed attempt: attempts + 1, the error, the next due time', async () => {
      const { store, outbox } = await open();
      const item = await queued(store, 'f1');
      const next = Date.now() + 5_000;
      await outbox.recordFailure(item.id, 'HTTP 503', next);
      const [stored] = await store.outboxFor('f1');
      expect(stored).toMatchObject({ attempts: 1, lastError: 'HTTP 503', nextAttemptAt: next, doneAt: undefined });
      const { items } = await outbox.pending(10, new Set());
      expect(items.find((i) => i.id === item.id)).toMatchObject({ attempts: 1, nextAttemptAt: next });
    });

    it('settles once: the ending and the push move commit together; the move’s new item is handed over', async () => {
      const { store, outbox } = await open();
      const item = await queued(store, 's1');
      await takeAll(outbox);
      let after = 0;
      const seen: Array<{ item: OutboxItem; state: string | undefined }> = [];
      const ended = await outbox.settle(item, { outcome: 'acknowledged' }, (done, push) => {
        seen.push({ item: done, state: push?.state });
        return handedBack('s1', () => {
          after++;
        });
      });
      expect(ended).toBe(true);
      expect(after).toBe(1);
      expect(seen).toHaveLength(1);
      expect(seen[0]?.item).toMatchObject({ id: item.id, outcome: 'acknowledged' });
      expect(seen[0]?.item.doneAt).toBeDefined();
      expect(seen[0]?.state).toBe('handing-back');
      expect((await store.get('s1'))?.state).toBe('handed-back');
      const items = await store.outboxFor('s1');
      expect(items.map((i) => [i.kind, i.outcome])).toEqual([
        ['hand-back', 'acknowledged'],
        ['result-notification', undefined],
      ]);
      expect((await takeAll(outbox)).map((i) => i.kind)).toEqual(['result-notification']);
      expect((await outbox.pending(10, new Set())).items.map((i) => i.kind)).toEqual(['result-notification']);
      // Exactly once: a second settlement changes nothing and asks no reaction.
      expect(await outbox.settle(item, { outcome: 'refused', error: 'late' }, () => handedBack('s1'))).toBe(false);
      expect((await store.outboxFor('s1'))[0]?.outcome).toBe('acknowledged');
    });

    it('a throwing reaction leaves nothing: the item stays pending, the push and its new item roll back; settled again, it ends once', async () => {
      const { store, outbox } = await open();
      const item = await queued(store, 't1');
      await takeAll(outbox);
      // The reaction's move is applied (and queues a notification) before `after` throws.
      const failing = outbox.settle(item, { outcome: 'refused', error: 'PAP 2000 Bad' }, () =>
        handedBack('t1', () => {
          throw new Error('pipeline bug');
        }),
      );
      await expect(failing).rejects.toThrow('pipeline bug');
      await expect(
        outbox.settle(item, { outcome: 'acknowledged' }, () => {
          throw new Error('decided nothing');
        }),
      ).rejects.toThrow('decided nothing');
      expect((await store.get('t1'))?.state).toBe('handing-back');
      expect(await store.outboxFor('t1')).toMatchObject([{ id: item.id, doneAt: undefined, outcome: undefined }]);
      expect(await takeAll(outbox)).toEqual([]); // the rolled-back notification is never handed over
      expect((await outbox.pending(10, new Set())).items.map((i) => i.id)).toEqual([item.id]);
      expect(await outbox.settle(item, { outcome: 'refused', error: 'PAP 2000 Bad' })).toBe(true);
      expect(await store.outboxFor('t1')).toMatchObject([{ id: item.id, outcome: 'refused', lastError: 'PAP 2000 Bad' }]);
      expect(await outbox.settle(item, { outcome: 'refused', error: 'PAP 2000 Bad' })).toBe(false);
    });

    it('pending items survive a restart; ended ones are not listed', async () => {
      const { store, outbox } = await open();
      const keep = await queued(store, 'r-keep');
      const done = await queued(store, 'r-done');
      await outbox.recordFailure(keep.id, 'connection refused', Date.now() + 1000);
      await outbox.settle(done, { outcome: 'gave-up', error: 'no acknowledgement' });
      const reopened = await (sut as OutboxUnderTest).reopen();
      const { items, complete } = await reopened.outbox.pending(10, new Set());
      expect(items.map((i) => [i.id, i.attempts, i.lastError])).toEqual([[keep.id, 1, 'connection refused']]);
      expect(complete).toBe(true);
      expect((await reopened.store.outboxFor('r-done'))[0]).toMatchObject({ outcome: 'gave-up', lastError: 'no acknowledgement' });
    });
  });
}

/**
 * The contract every PushStorePort implementation passes (SQLite today; a network store later): the
 * lifecycle and its illegal edges, compare-and-set, duplicate push-ids, history, outbox items committed
 * with a transition and settled with a reaction, what a restart resumes, and the group-commit guarantees
 * visible through the port (a write resolves once durable; writes commit in the order asked for).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { AgentError, ErrorCodes, type ErrorCode } from '../../src/errors.js';
import type { NewPushRecord } from '../../src/push/store/push-record.js';
import type { PushStorePort } from '../../src/push/store/push-store-port.js';

export interface StoreUnderTest {
  store: PushStorePort;
  /** Reopens the same storage (a restart) and closes the old handle. */
  reopen(): Promise<PushStorePort>;
  close(): Promise<void>;
}

async function codeOf(work: Promise<unknown>): Promise<ErrorCode | undefined> {
  try {
    await work;
    return undefined;
  } catch (err) {
    if (err instanceof AgentError) return err.code;
    throw err;
  }
}

const rec = (pushId: string, extra: Partial<NewPushRecord> = {}): NewPushRecord => ({
  pushId,
  address: 'WAPPUSH=+15551234567/TYPE=PLMN',
  aor: 'sip:+15551234567@example.com;user=phone',
  requestContentType: 'multipart/related; boundary=b',
  requestBody: Buffer.from([0, 1, 2, 255]),
  source: 'pap',
  submittedBy: 'pi-a',
  ...extra,
});

export function describePushStoreContract(name: string, makeStore: () => Promise<StoreUnderTest>): void {
  describe(`PushStorePort contract: ${name}`, () => {
    let sut: StoreUnderTest | undefined;
    const open = async () => {
      sut = await makeStore();
      return sut.store;
    };
    afterEach(async () => {
      await sut?.close();
      sut = undefined;
    });

    it('inserts as accepted, byte-exact, and refuses a push-id seen before with DUPLICATE_PUSH_ID', async () => {
      const store = await open();
      const inserted = await store.insert(rec('p1', { deliverAfter: 1000, notifyTo: 'http://pi/notify' }));
      expect(inserted).toMatchObject({ pushId: 'p1', state: 'accepted', sipAttempts: 0, deliverAfter: 1000, notifyTo: 'http://pi/notify' });
      expect((await store.get('p1'))?.requestBody.equals(Buffer.from([0, 1, 2, 255]))).toBe(true);
      expect(await codeOf(store.insert(rec('p1')))).toBe(ErrorCodes.DUPLICATE_PUSH_ID);
      expect(await store.get('nope')).toBeUndefined();
    });

    it('walks the lifecycle with a history row per step; illegal edges and unknown pushes are refused', async () => {
      const store = await open();
      await store.insert(rec('p2'));
      expect((await store.transition('p2', 'delivering', {}, { expectedFrom: 'accepted' })).sipAttempts).toBe(1);
      const done = await store.transition('p2', 'delivered', { sipStatus: 200, reason: 'SIP 200' }, { expectedFrom: 'delivering' });
      expect(done).toMatchObject({ state: 'delivered', sipStatus: 200, reason: 'SIP 200' });
      expect(await codeOf(store.transition('p2', 'accepted'))).toBe(ErrorCodes.PUSH_STATE_CONFLICT);
      expect(await codeOf(store.transition('missing', 'delivering'))).toBe(ErrorCodes.PUSH_NOT_FOUND);
      const history = await store.history('p2');
      expect(history.map((h) => [h.from, h.to])).toEqual([
        [undefined, 'accepted'],
        ['accepted', 'delivering'],
        ['delivering', 'delivered'],
      ]);
      expect(history[2]?.detail).toMatchObject({ sipStatus: 200 });
      expect(await store.history('missing')).toEqual([]);
    });

    it('compare-and-set: a guard naming another state fails with PUSH_STATE_CONFLICT and changes nothing', async () => {
      const store = await open();
      await store.insert(rec('p3'));
      expect(await codeOf(store.transition('p3', 'cancelled', {}, { expectedFrom: 'delivering' }))).toBe(ErrorCodes.PUSH_STATE_CONFLICT);
      expect((await store.get('p3'))?.state).toBe('accepted');
      expect(await store.history('p3')).toHaveLength(1);
    });

    it('writes asked for together commit in order: the second compare-and-set sees the first', async () => {
      const store = await open();
      await store.insert(rec('p4'));
      const first = store.transition('p4', 'delivering', {}, { expectedFrom: 'accepted' });
      const second = store.transition('p4', 'cancelled', {}, { expectedFrom: 'accepted' });
      await first;
      expect(await codeOf(second)).toBe(ErrorCodes.PUSH_STATE_CONFLICT);
      expect((await store.get('p4'))?.state).toBe('delivering');
    });

    it('a resolved write survives a restart; the outbox item of a transition commits with it and settles with a reaction', async () => {
      const store = await open();
      await store.insert(rec('p5'));
      await store.transition(
        'p5',
        'handing-back',
        { bearerHint: 'SMS', reason: 'SIP 480' },
        {
          expectedFrom: 'accepted',
          outbox: { kind: 'hand-back', url: 'http://ppg/hb', contentType: 'application/xml', body: Buffer.from('<pap/>') },
        },
      );
      const reopened = sut ? await sut.reopen() : store;
      const [item] = await reopened.outboxFor('p5');
      expect(item).toMatchObject({ kind: 'hand-back', url: 'http://ppg/hb', pushId: 'p5' });
      expect(item?.body.toString()).toBe('<pap/>');
      const settled = await reopened.settleOutbox(item!.id, { outcome: 'acknowledged' }, (ended, push) => {
        expect(ended.id).toBe(item!.id);
        expect(push?.state).toBe('handing-back');
        return { to: 'handed-back', detail: { papCode: 1001 }, options: { expectedFrom: 'handing-back' } };
      });
      expect(settled).toBe(true);
      expect((await reopened.get('p5'))?.state).toBe('handed-back');
      expect(await reopened.settleOutbox(item!.id, { outcome: 'acknowledged' })).toBe(false);
    });

    it('a failing settlement reaction leaves the ending recorded and the push where it was', async () => {
      const store = await open();
      await store.insert(rec('p6'));
      await store.transition(
        'p6',
        'handing-back',
        {},
        {
          outbox: { kind: 'hand-back', url: 'http://ppg/hb', contentType: 'application/xml', body: Buffer.from('x') },
        },
      );
      const [item] = await store.outboxFor('p6');
      const failing = store.settleOutbox(item!.id, { outcome: 'refused', error: 'PAP 2000' }, () => {
        throw new Error('reaction failed');
      });
      await expect(failing).rejects.toThrow('reaction failed');
      expect((await store.get('p6'))?.state).toBe('handing-back');
      expect(await store.settleOutbox(item!.id, { outcome: 'refused', error: 'again' })).toBe(false);
    });

    it('lists every non-terminal push for resume, oldest first, without terminal ones', async () => {
      const store = await open();
      await store.insert(rec('r1'));
      await store.insert(rec('r2', { deliverAfter: 5000 }));
      await store.insert(rec('r3'));
      await store.transition('r1', 'delivering');
      await store.transition('r3', 'cancelled');
      const reopened = sut ? await sut.reopen() : store;
      expect(await reopened.listResumable()).toEqual([
        { pushId: 'r1', state: 'delivering', deliverAfter: undefined },
        { pushId: 'r2', state: 'accepted', deliverAfter: 5000 },
      ]);
      await expect(reopened.probeWrite()).resolves.toBeUndefined();
    });
  });
}

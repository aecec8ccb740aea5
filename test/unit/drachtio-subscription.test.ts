/**
 * DrachtioSubscription against a fake srf (unit level): the parts srf does not do or does wrong —
 * terminated NOTIFY cleanup (defect B), unsubscribe as in-dialog SUBSCRIBE Expires: 0 (never destroy()),
 * 423 → Min-Expires, and one new dialog after a reconnect.
 */
import { EventEmitter } from 'node:events';
import type Srf from 'drachtio-srf';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/lib/logger.js';
import { DrachtioSubscription, type DrachtioSubscriptionHost } from '../../src/sip/drachtio/drachtio-subscription.js';
import type { NotifyEvent, SubscriptionEnded } from '../../src/sip/port.js';

function message(headers: Record<string, string>, extra: Record<string, unknown> = {}) {
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return { headers, get: (name: string) => lower[name.toLowerCase()], has: (name: string) => name.toLowerCase() in lower, ...extra };
}

class FakeDialog extends EventEmitter {
  readonly id = `dlg-${Math.random()}`;
  connected = true;
  destroyed = false;
  readonly requests: Array<{ method: string; headers?: Record<string, string> }> = [];
  answer: (expires: string) => { status: number; headers: Record<string, string> } = (expires) => ({
    status: 202,
    headers: { Expires: expires },
  });
  constructor(readonly res: ReturnType<typeof message>) {
    super();
  }
  request(opts: { method: string; headers?: Record<string, string> }, cb: (err: Error | null, res?: unknown) => void) {
    this.requests.push(opts);
    const { status, headers } = this.answer(opts.headers?.Expires ?? '');
    setImmediate(() => cb(null, message(headers, { status, reason: 'x' })));
    return this;
  }
  destroy() {
    this.destroyed = true;
  }
}

class FakeSrf {
  readonly dialogs: FakeDialog[] = [];
  readonly removed: FakeDialog[] = [];
  readonly uacHeaders: Array<Record<string, string>> = [];
  failNext?: { status: number; headers: Record<string, string> };
  createUAC(_uri: string, opts: { headers: Record<string, string> }, _cbs: unknown, cb: (err: unknown, d?: FakeDialog) => void) {
    this.uacHeaders.push(opts.headers);
    const fail = this.failNext;
    this.failNext = undefined;
    setImmediate(() => {
      if (fail) {
        const err = Object.assign(new Error('sip'), { status: fail.status, reason: 'x', res: message(fail.headers) });
        return cb(err);
      }
      const dialog = new FakeDialog(message({ Expires: opts.headers.Expires }, { status: 202 }));
      this.dialogs.push(dialog);
      cb(null, dialog);
    });
    return this;
  }
  removeDialog(d: FakeDialog) {
    this.removed.push(d);
  }
}

function setup() {
  let srf: FakeSrf | undefined = new FakeSrf();
  const host: DrachtioSubscriptionHost = {
    logger: silentLogger(),
    t1Ms: 500,
    currentSrf: () => srf as unknown as Srf | undefined,
    proxyFor: () => undefined,
    bindCallId: () => {},
    detach: () => {},
    countRequest: () => {},
    countResponse: () => {},
  };
  const notifies: NotifyEvent[] = [];
  const ended: SubscriptionEnded[] = [];
  const sub = new DrachtioSubscription(
    { resource: 'sip:alice@example.com', from: 'sip:agent@example.com', event: 'presence', accept: ['application/pidf+xml'], expires: 600 },
    { onNotify: (n) => notifies.push(n), onEnded: (e) => ended.push(e) },
    host,
  );
  return { sub, notifies, ended, srf: () => srf!, setSrf: (s: FakeSrf | undefined) => (srf = s) };
}

function notify(dialog: FakeDialog, state: string, body = '') {
  const sent: number[] = [];
  const req = message({ 'Subscription-State': state, 'Content-Type': 'application/pidf+xml' }, { body, method: 'NOTIFY' });
  const res = { finalResponseSent: false, send: (status: number) => sent.push(status) };
  dialog.emit('notify', req, res);
  return sent;
}

const tick = () => new Promise((r) => setImmediate(r));

describe('DrachtioSubscription (fake srf)', () => {
  it('ends on a terminating NOTIFY itself and drops the dialog from srf (defect B)', async () => {
    const { sub, notifies, ended, srf } = setup();
    await sub.start();
    const dialog = srf().dialogs[0]!;
    expect(notify(dialog, 'active;expires=600', '<presence/>')).toEqual([200]);
    expect(notifies[0]?.body.toString()).toBe('<presence/>');
    expect(sub.phase).toBe('active');
    notify(dialog, 'terminated;reason=noresource');
    expect(ended).toEqual([{ cause: 'notify-terminated', reason: 'noresource', retryAfter: undefined }]);
    expect(srf().removed).toEqual([dialog]);
    expect(sub.phase).toBe('terminated');
  });

  it('unsubscribes with an in-dialog SUBSCRIBE Expires: 0, never destroy()', async () => {
    const { sub, ended, srf } = setup();
    await sub.start();
    const dialog = srf().dialogs[0]!;
    notify(dialog, 'active;expires=600');
    await sub.unsubscribe();
    expect(dialog.requests).toEqual([{ method: 'SUBSCRIBE', headers: expect.objectContaining({ Expires: '0', Event: 'presence' }) }]);
    expect(dialog.destroyed).toBe(false);
    notify(dialog, 'terminated;reason=timeout');
    expect(ended).toEqual([{ cause: 'unsubscribed' }]);
  });

  it('retries a 423 once with Min-Expires', async () => {
    const { sub, srf } = setup();
    srf().failNext = { status: 423, headers: { 'Min-Expires': '1800' } };
    await sub.start();
    expect(srf().uacHeaders.map((h) => h.Expires)).toEqual(['600', '1800']);
  });

  it('rejects the start with SIP_STATUS on a final non-2xx', async () => {
    const { sub, srf } = setup();
    srf().failNext = { status: 489, headers: {} };
    await expect(sub.start()).rejects.toMatchObject({ code: 'SIP_STATUS', status: 489 });
  });

  it('after a reconnect subscribes again with exactly one new dialog; the old one is ignored', async () => {
    const { sub, notifies, srf, setSrf } = setup();
    await sub.start();
    const old = srf().dialogs[0]!;
    notify(old, 'active;expires=600', 'v1');
    sub.connectionLost();
    const fresh = new FakeSrf();
    setSrf(fresh);
    sub.connectionRestored();
    sub.connectionRestored();
    await tick();
    expect(fresh.dialogs).toHaveLength(1);
    expect(notify(old, 'active;expires=600', 'stale')).toEqual([481]);
    notify(fresh.dialogs[0]!, 'active;expires=600', 'v2');
    expect(notifies.map((n) => n.body.toString())).toEqual(['v1', 'v2']);
  });
});

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../src/lib/logger.js';
import { SipRequestError, type NotifyEvent, type SubscriptionEnded } from '../../src/sip/port.js';
import { decodeMessage, type DecodedMessage } from '../../src/sip/embedded/message-codec.js';
import type { OutgoingRequest } from '../../src/sip/embedded/outgoing-request.js';
import { SubscriptionDialog, type SubscriptionHost } from '../../src/sip/embedded/subscription-dialog.js';
import { DEFAULT_TIMER_VALUES } from '../../src/sip/embedded/timer-values.js';

interface Pending {
  request: OutgoingRequest;
  resolve(response: DecodedMessage): void;
  reject(error: Error): void;
}

/** A fake engine: records each SUBSCRIBE and lets the test answer it. */
function fakeHost() {
  const sent: Pending[] = [];
  const attached = new Set<SubscriptionDialog>();
  const host: SubscriptionHost = {
    timers: DEFAULT_TIMER_VALUES,
    logger: silentLogger(),
    localHost: '127.0.0.2',
    sendRequest: (request) =>
      new Promise((resolve, reject) => {
        sent.push({ request, resolve, reject });
      }),
    contactUri: (transport) => `sip:127.0.0.2:5070;transport=${transport}`,
    attach: (d) => attached.add(d),
    detach: (d) => attached.delete(d),
  };
  return { host, sent, attached };
}

function header(request: OutgoingRequest, name: string): string | undefined {
  return request.headers.find(([n]) => n === name)?.[1];
}

function decode(lines: string[], body = ''): DecodedMessage {
  const text = [...lines, `Content-Length: ${Buffer.byteLength(body, 'latin1')}`, '', body].join('\r\n');
  return decodeMessage(Buffer.from(text, 'latin1'))!;
}

function response(request: OutgoingRequest, status: number, extra: string[] = []): DecodedMessage {
  return decode([
    `SIP/2.0 ${status} Whatever`,
    'Via: SIP/2.0/UDP 127.0.0.2:5070;branch=z9hG4bKx',
    `From: ${request.from}`,
    `To: ${request.to.includes('tag=') ? request.to : `${request.to};tag=notifier1`}`,
    `Call-ID: ${request.callId}`,
    `CSeq: ${request.cseq} SUBSCRIBE`,
    'Contact: <sip:presence@127.0.0.1:5060>',
    ...extra,
  ]);
}

function notify(dialog: SubscriptionDialog, state: string, body = '', fromTag = 'notifier1'): DecodedMessage {
  return decode(
    [
      'NOTIFY sip:127.0.0.2:5070 SIP/2.0',
      'Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKn',
      'Max-Forwards: 70',
      `From: <sip:alice@127.0.0.1>;tag=${fromTag}`,
      `To: <sip:agent@127.0.0.2>;tag=${dialog.localTag}`,
      `Call-ID: ${dialog.callId}`,
      'CSeq: 1 NOTIFY',
      'Event: presence',
      `Subscription-State: ${state}`,
      'Contact: <sip:presence@127.0.0.1:5060>',
      ...(body ? ['Content-Type: application/pidf+xml'] : []),
    ],
    body,
  );
}

const options = {
  resource: 'sip:alice@127.0.0.1',
  from: 'sip:agent@127.0.0.2',
  event: 'presence',
  accept: ['application/pidf+xml'],
  expires: 600,
  nextHop: { host: '127.0.0.1', port: 5060, transport: 'udp' as const },
};

function makeDialog() {
  const fake = fakeHost();
  const notifies: NotifyEvent[] = [];
  const ended: SubscriptionEnded[] = [];
  const refreshed: number[] = [];
  const dialog = new SubscriptionDialog(
    options,
    {
      onNotify: (n) => notifies.push(n),
      onEnded: (e) => ended.push(e),
      onRefreshed: (s) => refreshed.push(s),
    },
    fake.host,
  );
  return { ...fake, dialog, notifies, ended, refreshed };
}

describe('SubscriptionDialog (RFC 6665 subscriber)', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('sends the initial SUBSCRIBE with Event, Accept, Expires and a Contact with transport', async () => {
    const t = makeDialog();
    void t.dialog.start();
    await vi.advanceTimersByTimeAsync(0);
    const rq = t.sent[0].request;
    expect(rq.method).toBe('SUBSCRIBE');
    expect(rq.requestUri).toBe(options.resource);
    expect(header(rq, 'event')).toBe('presence');
    expect(header(rq, 'accept')).toBe('application/pidf+xml');
    expect(header(rq, 'expires')).toBe('600');
    expect(header(rq, 'contact')).toBe('<sip:127.0.0.2:5070;transport=udp>');
    expect(rq.from).toContain(`;tag=${t.dialog.localTag}`);
    expect(rq.to).not.toContain('tag=');
  });

  it('2xx then NOTIFY: resolves, delivers the body, and refreshes in-dialog at 90 % of a short expiry', async () => {
    const t = makeDialog();
    const started = t.dialog.start();
    await vi.advanceTimersByTimeAsync(0);
    t.sent[0].resolve(response(t.sent[0].request, 200, ['Expires: 60']));
    const sub = await started;
    expect(sub.phase).toBe('notify-wait');
    const outcome = t.dialog.handleNotify(notify(t.dialog, 'active;expires=60', '<presence/>'));
    expect(outcome.status).toBe(200);
    outcome.afterReply?.();
    expect(t.notifies[0].body.toString()).toBe('<presence/>');
    expect(t.notifies[0].contentType).toBe('application/pidf+xml');
    expect(sub.phase).toBe('active');
    await vi.advanceTimersByTimeAsync(53_999);
    expect(t.sent).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(t.sent).toHaveLength(2);
    const refresh = t.sent[1].request;
    expect(refresh.cseq).toBe(2);
    expect(refresh.callId).toBe(t.sent[0].request.callId);
    expect(refresh.to).toContain(';tag=notifier1');
    expect(refresh.requestUri).toBe('sip:presence@127.0.0.1:5060');
    t.sent[1].resolve(response(refresh, 200, ['Expires: 30']));
    await vi.advanceTimersByTimeAsync(0);
    expect(t.refreshed).toEqual([30]);
    expect(t.ended).toEqual([]);
  });

  it('accepts a NOTIFY before the 2xx: it resolves the subscribe and establishes the dialog', async () => {
    const t = makeDialog();
    const started = t.dialog.start();
    await vi.advanceTimersByTimeAsync(0);
    const outcome = t.dialog.handleNotify(notify(t.dialog, 'pending', ''));
    expect(outcome.status).toBe(200);
    outcome.afterReply?.();
    const sub = await started;
    expect(sub.phase).toBe('pending');
    expect(t.notifies[0].body.length).toBe(0);
    t.sent[0].resolve(response(t.sent[0].request, 202, ['Expires: 600']));
    await vi.advanceTimersByTimeAsync(64 * 500 + 1); // no Timer N: the NOTIFY already came
    expect(t.ended).toEqual([]);
  });

  it('Timer N: a 2xx with no NOTIFY within 64·T1 ends with timeout', async () => {
    const t = makeDialog();
    const started = t.dialog.start();
    await vi.advanceTimersByTimeAsync(0);
    t.sent[0].resolve(response(t.sent[0].request, 200, ['Expires: 600']));
    await started;
    await vi.advanceTimersByTimeAsync(31_999);
    expect(t.ended).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(t.ended).toEqual([{ cause: 'timeout' }]);
    expect(t.attached.size).toBe(0);
  });

  it('423 → retries once with Min-Expires; a second 423 rejects with SipStatusError', async () => {
    const t = makeDialog();
    const started = t.dialog.start();
    const assertion = expect(started).rejects.toMatchObject({ code: 'SIP_STATUS', status: 423 });
    await vi.advanceTimersByTimeAsync(0);
    t.sent[0].resolve(response(t.sent[0].request, 423, ['Min-Expires: 1800']));
    await vi.advanceTimersByTimeAsync(0);
    expect(t.sent).toHaveLength(2);
    expect(header(t.sent[1].request, 'expires')).toBe('1800');
    expect(t.sent[1].request.cseq).toBe(2);
    t.sent[1].resolve(response(t.sent[1].request, 423, ['Min-Expires: 3600']));
    await assertion;
    expect(t.sent).toHaveLength(2);
  });

  it('a non-2xx initial answer rejects with its status and Retry-After', async () => {
    const t = makeDialog();
    const started = t.dialog.start();
    await vi.advanceTimersByTimeAsync(0);
    t.sent[0].resolve(response(t.sent[0].request, 503, ['Retry-After: 120']));
    await expect(started).rejects.toMatchObject({ code: 'SIP_STATUS', status: 503, retryAfter: 120 });
    expect(t.ended).toEqual([]);
  });

  it('a timed-out initial SUBSCRIBE rejects with SipRequestError(timeout)', async () => {
    const t = makeDialog();
    const started = t.dialog.start();
    await vi.advanceTimersByTimeAsync(0);
    t.sent[0].reject(new SipRequestError('timeout', 'Timer F'));
    await expect(started).rejects.toMatchObject({ code: 'SIP_TIMEOUT' });
  });

  async function active(t: ReturnType<typeof makeDialog>, expires = 60) {
    const started = t.dialog.start();
    await vi.advanceTimersByTimeAsync(0);
    t.sent[0].resolve(response(t.sent[0].request, 200, [`Expires: ${expires}`]));
    await started;
    t.dialog.handleNotify(notify(t.dialog, `active;expires=${expires}`)).afterReply?.();
  }

  it('a refresh answered 481 ends with refresh-failed and the status', async () => {
    const t = makeDialog();
    await active(t);
    await vi.advanceTimersByTimeAsync(54_000);
    t.sent[1].resolve(response(t.sent[1].request, 481));
    await vi.advanceTimersByTimeAsync(0);
    expect(t.ended).toEqual([{ cause: 'refresh-failed', status: 481 }]);
  });

  it('a refresh that times out ends with refresh-failed 408', async () => {
    const t = makeDialog();
    await active(t);
    await vi.advanceTimersByTimeAsync(54_000);
    t.sent[1].reject(new SipRequestError('timeout', 'Timer F'));
    await vi.advanceTimersByTimeAsync(0);
    expect(t.ended).toEqual([{ cause: 'refresh-failed', status: 408 }]);
  });

  it('a NOTIFY with terminated is answered 200, then ends with its reason and retry-after', async () => {
    const t = makeDialog();
    await active(t);
    const outcome = t.dialog.handleNotify(notify(t.dialog, 'terminated;reason=probation;retry-after=30'));
    expect(outcome.status).toBe(200);
    expect(t.ended).toEqual([]); // not before the 200 went out
    outcome.afterReply?.();
    expect(t.ended).toEqual([{ cause: 'notify-terminated', reason: 'probation', retryAfter: 30 }]);
    expect(t.dialog.phase).toBe('terminated');
    expect(t.dialog.handleNotify(notify(t.dialog, 'active')).status).toBe(481);
    await vi.advanceTimersByTimeAsync(120_000);
    expect(t.sent).toHaveLength(1); // no refresh after the end
  });

  it('answers 400 to a NOTIFY without Subscription-State, 481 to a foreign From tag', async () => {
    const t = makeDialog();
    await active(t);
    const bad = decode([
      'NOTIFY sip:127.0.0.2:5070 SIP/2.0',
      'Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKq',
      'Max-Forwards: 70',
      'From: <sip:alice@127.0.0.1>;tag=notifier1',
      `To: <sip:agent@127.0.0.2>;tag=${t.dialog.localTag}`,
      `Call-ID: ${t.dialog.callId}`,
      'CSeq: 2 NOTIFY',
      'Event: presence',
    ]);
    expect(t.dialog.handleNotify(bad)).toMatchObject({ status: 400, reason: 'Missing Subscription-State' });
    expect(t.dialog.handleNotify(notify(t.dialog, 'active', '', 'other')).status).toBe(481);
  });

  it('unsubscribe sends Expires: 0 in the dialog, accepts the final NOTIFY and ends unsubscribed', async () => {
    const t = makeDialog();
    await active(t);
    const done = t.dialog.unsubscribe();
    await vi.advanceTimersByTimeAsync(0);
    const unsub = t.sent[1].request;
    expect(header(unsub, 'expires')).toBe('0');
    expect(unsub.to).toContain(';tag=notifier1');
    t.sent[1].resolve(response(unsub, 200, ['Expires: 0']));
    await done;
    expect(t.ended).toEqual([]);
    const outcome = t.dialog.handleNotify(notify(t.dialog, 'terminated;reason=timeout', '<presence/>'));
    expect(outcome.status).toBe(200);
    outcome.afterReply?.();
    expect(t.ended).toEqual([{ cause: 'unsubscribed' }]);
  });

  it('engine stop ends the subscription once and cancels its timers', async () => {
    const t = makeDialog();
    await active(t);
    t.dialog.engineStopped();
    t.dialog.engineStopped();
    await vi.advanceTimersByTimeAsync(600_000);
    expect(t.ended).toEqual([{ cause: 'engine-stopped' }]);
    expect(t.sent).toHaveLength(1);
  });
});

/**
 * The client commands' reading of PAP answers (pure): the answers are made by the agent's own builders,
 * so a change on either side shows here. Summary wording and exit status by PAP code class.
 */
import { describe, expect, it } from 'vitest';
import { EXIT, exitStatusFor, readPapAnswer, summarize } from '../../src/cli/pap-answer.js';
import { resolveTarget } from '../../src/cli/pap-client.js';
import {
  buildBadMessageResponse,
  buildCancelResponse,
  buildPushResponse,
  buildStatusQueryResponse,
} from '../../src/push/pap/pap-builder.js';

const XML = 'application/xml';
const read = (xml: string, hint: string | null = null, status = 200) => readPapAnswer(status, Buffer.from(xml), XML, hint);

describe('readPapAnswer + summarize + exitStatusFor', () => {
  it('push-response 1001 → "1001 accepted", exit 0', () => {
    const a = read(buildPushResponse({ pushId: 'p1', code: 1001, replyTime: new Date() }), null, 202);
    expect(a).toMatchObject({ element: 'push-response', pushId: 'p1', code: 1001 });
    expect(summarize(a)).toBe('1001 accepted (push-id p1)');
    expect(exitStatusFor(a)).toBe(0);
  });

  it('push-response 3010 with a progress-note and the hint header → "3010 handed back, hint SMS", exit 3', () => {
    const xml = buildPushResponse({ pushId: 'p2', code: 3010, replyTime: new Date(), progressNote: { stage: 'handed-back', note: 'SMS' } });
    const a = read(xml, 'SMS');
    expect(summarize(a)).toBe('3010 handed back, hint SMS (push-id p2)');
    expect(exitStatusFor(a)).toBe(EXIT.serverError);
  });

  it('2007, 4001, 5000 and badmessage 2000 by class: 2, 4, 5, 2', () => {
    expect(exitStatusFor(read(buildPushResponse({ pushId: 'p', code: 2007, replyTime: new Date() })))).toBe(2);
    const busy = read(buildPushResponse({ pushId: 'p', code: 4001, desc: 'agent overloaded', replyTime: new Date() }), null, 503);
    expect(summarize(busy)).toBe('4001: agent overloaded (push-id p)');
    expect(exitStatusFor(busy)).toBe(4);
    expect(exitStatusFor({ code: 5000 })).toBe(5);
    const bad = read(buildBadMessageResponse({ code: 2000, desc: 'not XML', badMessageFragment: '<pap' }), null, 400);
    expect(summarize(bad)).toBe('2000 bad message: not XML');
    expect(exitStatusFor(bad)).toBe(2);
  });

  it('statusquery-response and cancel-response read their result element', () => {
    const status = read(
      buildStatusQueryResponse({ pushId: 's1', results: [{ messageState: 'delivered', code: 1000, desc: 'Delivered over SIP' }] }),
    );
    expect(summarize(status)).toBe('s1: delivered (1000: Delivered over SIP)');
    expect(exitStatusFor(status)).toBe(0);
    const cancelled = read(buildCancelResponse({ pushId: 'c1', results: [{ code: 1001 }] }));
    expect(summarize(cancelled)).toBe('1001 cancelled (push-id c1)');
    const late = read(buildCancelResponse({ pushId: 'c2', results: [{ code: 2008 }] }));
    expect(summarize(late)).toBe('2008: Cancellation not possible (push-id c2)');
    expect(exitStatusFor(late)).toBe(2);
  });

  it('no PAP answer (a JSON 401, an empty body, garbage) → exit 1', () => {
    const denied = readPapAnswer(401, Buffer.from('{"error":"unauthorized"}'), 'application/json', null);
    expect(denied).toEqual({ httpStatus: 401 });
    expect(summarize(denied)).toBe('HTTP 401 without a PAP answer');
    expect(exitStatusFor(denied)).toBe(EXIT.noPapAnswer);
    expect(exitStatusFor(read('<pap><push-response'))).toBe(EXIT.noPapAnswer);
  });
});

describe('resolveTarget', () => {
  it('moves user:password from the URL into Basic auth and strips it from the URL it shows', () => {
    const t = resolveTarget('http://pi:s%3Acret@127.0.0.1:8180/pap', {});
    expect(t.url).toBe('http://127.0.0.1:8180/pap');
    expect(t.shown).not.toContain('cret');
    expect(t.headers.authorization).toBe(`Basic ${Buffer.from('pi:s:cret').toString('base64')}`);
  });

  it('takes --token as a bearer, refuses token and user together, and non-http URLs', () => {
    expect(resolveTarget('http://h/pap', { token: 't0k' }).headers.authorization).toBe('Bearer t0k');
    expect(() => resolveTarget('http://h/pap', { token: 't', user: 'u' })).toThrow(/either --token or --user/);
    expect(() => resolveTarget('ftp://h/pap', {})).toThrow(/http: or https:/);
  });
});

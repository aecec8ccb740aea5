/** The PAP answer decides how an outbox POST ends, never the HTTP status alone. */
import { describe, expect, it } from 'vitest';
import { judgePpgAnswer } from '../../src/push/pap/ppg-answer.js';

const DOCTYPE = '<?xml version="1.0"?>\n<!DOCTYPE pap PUBLIC "-//WAPFORUM//DTD PAP 1.0//EN" "http://www.wapforum.org/DTD/pap_1.0.dtd">\n';
const pushResponse = (pushId: string, code: number, desc = 'd') =>
  Buffer.from(`${DOCTYPE}<pap><push-response push-id="${pushId}"><response-result code="${code}" desc="${desc}"/></push-response></pap>`);
const rnResponse = (pushId: string, code: number) =>
  Buffer.from(`${DOCTYPE}<pap><resultnotification-response push-id="${pushId}" code="${code}"/></pap>`);
const badMessage = (code: number) =>
  Buffer.from(`${DOCTYPE}<pap><badmessage-response code="${code}" desc="unimplemented feature" bad-message-fragment="x"/></pap>`);

describe('judgePpgAnswer', () => {
  it('acknowledges a hand-back only on push-response 1000/1001 for the same push-id', () => {
    expect(judgePpgAnswer('hand-back', 'p1', 0, { status: 202, body: pushResponse('p1', 1001) })).toMatchObject({
      verdict: 'acknowledged',
      code: 1001,
    });
    expect(judgePpgAnswer('hand-back', 'p1', 0, { status: 200, body: pushResponse('p1', 1000) })).toMatchObject({
      verdict: 'acknowledged',
      code: 1000,
    });
    expect(judgePpgAnswer('hand-back', 'p1', 0, { status: 202, body: pushResponse('other', 1001) })).toMatchObject({ verdict: 'retry' });
    expect(judgePpgAnswer('hand-back', 'p1', 0, { status: 200, body: Buffer.from('<pap/>') })).toMatchObject({ verdict: 'retry' });
    expect(judgePpgAnswer('hand-back', 'p1', 0, { status: 200, body: Buffer.alloc(0) })).toMatchObject({ verdict: 'retry' });
  });

  it("a refusal inside HTTP 202 is a refusal, with the PPG's code and description", () => {
    expect(judgePpgAnswer('hand-back', 'p1', 0, { status: 202, body: badMessage(2000) })).toEqual({
      verdict: 'refused',
      code: 2000,
      desc: 'unimplemented feature',
    });
    for (const code of [2000, 2002, 3000, 3009, 3010, 5000]) {
      expect(judgePpgAnswer('hand-back', 'p1', 0, { status: 202, body: pushResponse('p1', code, 'no') })).toEqual({
        verdict: 'refused',
        code,
        desc: 'no',
      });
    }
  });

  it('retries only where a retry can help: PAP 4xxx, HTTP 5xx/408/429', () => {
    for (const code of [4000, 4001])
      expect(judgePpgAnswer('hand-back', 'p1', 0, { status: 202, body: pushResponse('p1', code) }).verdict).toBe('retry');
    for (const status of [500, 502, 503, 408, 429])
      expect(judgePpgAnswer('hand-back', 'p1', 0, { status, body: pushResponse('p1', 1001) }).verdict).toBe('retry');
  });

  it('2007 on a repeated attempt is our own earlier copy (acknowledged); on the first it is a refusal', () => {
    expect(judgePpgAnswer('hand-back', 'p1', 2, { status: 200, body: pushResponse('p1', 2007) }).verdict).toBe('acknowledged');
    expect(judgePpgAnswer('hand-back', 'p1', 0, { status: 200, body: pushResponse('p1', 2007) }).verdict).toBe('refused');
  });

  it('the same rule for result notifications: resultnotification-response 1000 acknowledges, 2xxx refuses', () => {
    expect(judgePpgAnswer('result-notification', 'p1', 0, { status: 200, body: rnResponse('p1', 1000) }).verdict).toBe('acknowledged');
    expect(judgePpgAnswer('result-notification', 'p1', 0, { status: 200, body: rnResponse('p1', 2000) })).toMatchObject({
      verdict: 'refused',
      code: 2000,
    });
    expect(judgePpgAnswer('result-notification', 'p1', 0, { status: 200, body: pushResponse('p1', 1001) }).verdict).toBe('retry');
  });

  it('cleans a hostile description (control characters, length)', () => {
    const verdict = judgePpgAnswer('hand-back', 'p1', 0, { status: 202, body: pushResponse('p1', 2000, `a&#10;b${'x'.repeat(500)}`) });
    expect(verdict.verdict).toBe('refused');
    if (verdict.verdict === 'refused') {
      expect(verdict.desc).not.toMatch(/[\n\r]/);
      expect(verdict.desc.length).toBeLessThanOrEqual(200);
    }
  });
});

/**
 * Pure ops logic: the JSON push request codec (round trip through the PAP parser), the PAP-answer →
 * JSON outcome mapping, and the admin bearer check (RFC 6750 §2.1).
 */
import { describe, expect, it } from 'vitest';
import { bearerMatches } from '../../src/intake/guard/bearer-auth.js';
import { describeIntakeReply, intakeOutcome } from '../../src/intake/json/intake-outcome.js';
import { mapJsonPush, papAddressForTarget, parseJsonPushRequest } from '../../src/intake/json/json-push-request.js';
import { buildPushResponse } from '../../src/push/pap/pap-builder.js';
import { parsePapRequest } from '../../src/push/pap/pap-parser.js';
import type { IntakeReply } from '../../src/push/push-service.js';

describe('JSON push request', () => {
  it('maps targets to PAP addresses (SIP URI escaped as TYPE=USER, numbers as TYPE=PLMN)', () => {
    expect(papAddressForTarget('sip:alice@example.com')).toBe('WAPPUSH=sip%3Aalice%40example.com/TYPE=USER');
    expect(papAddressForTarget('+1 (555) 010-0')).toBe('WAPPUSH=+15550100/TYPE=PLMN');
    expect(papAddressForTarget('tel:+15550100')).toBe('WAPPUSH=+15550100/TYPE=PLMN');
  });

  it('builds PAP bytes that re-parse to the same submission', () => {
    const request = parseJsonPushRequest({
      target: 'sip:alice@example.com',
      content: { text: 'héllo <&>' },
      contentType: 'text/plain; charset=utf-8',
      appId: 'x-wap-application:wml.ua',
      pushId: 'p-1',
      notifyUrl: 'https://pi.example/notify?a=1&b=2',
      deliverBefore: '2030-01-02T03:04:05.678Z',
      bearer: 'SMS',
    });
    const mapped = mapJsonPush(request);
    const reparsed = parsePapRequest(mapped.contentType, mapped.body);
    expect(reparsed).toEqual({ kind: 'push', push: mapped.submission });
    expect(mapped.submission.deliverBefore?.toISOString()).toBe('2030-01-02T03:04:05.000Z');
    expect(mapped.submission.content.body.toString('utf8')).toBe('héllo <&>');
  });

  it('generates a push-id when none is given', () => {
    const request = parseJsonPushRequest({ target: '+15550100', content: { base64: 'AQI=' }, contentType: 'application/octet-stream' });
    expect(mapJsonPush(request, () => 'fixed').submission.pushId).toBe('json-fixed');
    expect(mapJsonPush(request).submission.content.body).toEqual(Buffer.from([1, 2]));
  });

  it.each([
    [{}, 'target'],
    [{ target: 'sip:a@b', content: { text: 'x', base64: 'AA==' }, contentType: 'text/plain' }, 'content'],
    [{ target: 'sip:a@b', content: { text: 'x' }, contentType: 'text/plain', deliverAfter: 5 }, 'deliverAfter'],
    [{ target: 'sip:a@b', content: { text: 'x' }, contentType: 'text/plain', appId: '' }, 'appId'],
  ])('JSON_PUSH_INVALID names the field (%#)', (raw, field) => {
    expect(() => parseJsonPushRequest(raw)).toThrow(expect.objectContaining({ code: 'JSON_PUSH_INVALID', field }));
  });
});

describe('intake reply → JSON outcome', () => {
  const reply = (code: number, httpStatus: number, headers: Record<string, string> = {}): IntakeReply => ({
    httpStatus,
    headers,
    contentType: 'application/xml',
    body: buildPushResponse({
      pushId: 'p',
      code,
      desc: code === 3010 ? 'closed; bearer hint: SMS' : undefined,
      version: '2.0',
      replyTime: new Date(0),
    }),
  });

  it('maps 1001 → accepted 202, 3010 + hint → handed-back 200, refusals → 4xx/5xx', () => {
    expect(describeIntakeReply(reply(1001, 202))).toMatchObject({ outcome: 'accepted', papCode: 1001, httpStatus: 202 });
    expect(describeIntakeReply(reply(3010, 200, { 'X-Push-Bearer-Hint': 'SMS' }))).toEqual({
      outcome: 'handed-back',
      papCode: 3010,
      bearerHint: 'SMS',
      reason: 'closed; bearer hint: SMS',
      httpStatus: 200,
    });
    expect(describeIntakeReply(reply(2007, 200))).toMatchObject({ outcome: 'rejected', httpStatus: 409 });
    expect(describeIntakeReply(reply(2002, 200))).toMatchObject({ outcome: 'rejected', httpStatus: 422 });
    expect(describeIntakeReply(reply(4001, 503))).toMatchObject({ outcome: 'rejected', httpStatus: 503 });
    expect(describeIntakeReply(reply(3011, 200))).toMatchObject({ outcome: 'rejected', httpStatus: 400 });
  });

  it('labels metrics without parsing XML', () => {
    expect(intakeOutcome(reply(1001, 202))).toBe('accepted');
    expect(intakeOutcome(reply(3010, 200, { 'X-Push-Bearer-Hint': 'SMS' }))).toBe('handed-back');
    expect(intakeOutcome(reply(2000, 400))).toBe('rejected');
  });
});

describe('bearerMatches', () => {
  it('accepts only the exact token with the Bearer scheme', () => {
    expect(bearerMatches('Bearer s3cret-token', 's3cret-token')).toBe(true);
    expect(bearerMatches('bearer s3cret-token', 's3cret-token')).toBe(true);
    expect(bearerMatches('Bearer s3cret-tokeN', 's3cret-token')).toBe(false);
    expect(bearerMatches('Bearer s3cret', 's3cret-token')).toBe(false);
    expect(bearerMatches('Basic s3cret-token', 's3cret-token')).toBe(false);
    expect(bearerMatches(undefined, 's3cret-token')).toBe(false);
    expect(bearerMatches('Bearer ', 's3cret-token')).toBe(false);
  });
});

/**
 * Pure ops logic: the JSON push request codec (round trip through the PAP parser), the typed intake result →
 * JSON outcome mapping, and the admin bearer check (RFC 6750 §2.1).
 */
import { describe, expect, it } from 'vitest';
import { bearerMatches } from '../../src/intake/guard/bearer-auth.js';
import { jsonHttpStatusOf, papCodeOfResult, papHttpStatusOfResult, reasonOfResult } from '../../src/intake/pap/intake-reply.js';
import { ErrorCodes, type ErrorCode } from '../../src/errors.js';
import type { AdmissionResult } from '../../src/push/admission/admission-result.js';
import { mapJsonPush, papAddressForTarget, parseJsonPushRequest } from '../../src/intake/json/json-push-request.js';
import { parsePapRequest } from '../../src/push/pap/pap-parser.js';

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

describe('typed intake result → JSON outcome and PAP answer', () => {
  const rejected = (code: ErrorCode): AdmissionResult => ({ kind: 'rejected', pushId: 'p', code });
  const accepted: AdmissionResult = { kind: 'accepted', pushId: 'p', progressNote: { stage: 'accepted' } };
  const handedBack: AdmissionResult = {
    kind: 'handed-back',
    pushId: 'p',
    hint: 'SMS',
    reason: 'closed',
    progressNote: { stage: 'handed-back' },
  };

  it('maps 1001 → accepted 202, 3010 + hint → handed-back 200, refusals → 4xx/5xx', () => {
    expect(papCodeOfResult(accepted)).toBe(1001);
    expect(papHttpStatusOfResult(accepted)).toBe(202);
    expect(papCodeOfResult(handedBack)).toBe(3010);
    expect(papHttpStatusOfResult(handedBack)).toBe(200);
    expect(reasonOfResult(handedBack)).toBe('SIP bearer not available (closed); bearer hint: SMS');
    expect(jsonHttpStatusOf(ErrorCodes.DUPLICATE_PUSH_ID)).toBe(409);
    expect(jsonHttpStatusOf(ErrorCodes.ADDRESS_NOT_MAPPED)).toBe(422);
    expect(jsonHttpStatusOf(ErrorCodes.SERVICE_UNAVAILABLE)).toBe(503);
    expect(papHttpStatusOfResult(rejected(ErrorCodes.SERVICE_UNAVAILABLE))).toBe(503);
    expect(jsonHttpStatusOf(ErrorCodes.REPLACEMENT_NOT_SUPPORTED)).toBe(400);
    expect(papCodeOfResult(rejected(ErrorCodes.REPLACEMENT_NOT_SUPPORTED))).toBe(3011);
    expect(reasonOfResult(rejected(ErrorCodes.REPLACEMENT_NOT_SUPPORTED))).toBe('Replacement not supported');
    // A code without an HTTP status of its own: PAP 3xxx → 400, as before.
    expect(jsonHttpStatusOf(ErrorCodes.PROFILE_INVALID)).toBe(400);
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

import { describe, expect, it } from 'vitest';
import { pushEventAppFor } from '../../src/push/omna-app-ids.js';
import {
  acceptContactFor,
  buildPushMessageRequest,
  estimateRequestBytes,
  messageTransportFor,
} from '../../src/push/delivery/sip-message-builder.js';
import type { PushSubmission } from '../../src/push/pap/pap-types.js';
import { loadProfile, validateProfile } from '../../src/profiles/load-profile.js';

const sic = Buffer.from([0x02, 0x05, 0x6a, 0x00, 0x45, 0xc6, 0x0d, 0x0a, 0x00, 0xff, 0x01, 0x01]);
function push(appId?: string): PushSubmission {
  const headers: Record<string, string> = { 'content-type': 'application/vnd.wap.sic' };
  if (appId !== undefined) headers['x-wap-application-id'] = appId;
  return {
    pushId: 'p1',
    papVersion: '2.0',
    addresses: ['WAPPUSH=alice/TYPE=USER'],
    qos: { bearerRequired: false, networkRequired: false },
    progressNotesRequested: false,
    content: { contentType: 'application/vnd.wap.sic', headers, body: sic },
  };
}
const profile = (message: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) =>
  validateProfile({
    name: 't',
    identity: { uri: 'sip:push@example.com', displayName: 'Push' },
    addressing: { homeDomain: 'example.com' },
    message,
    ...extra,
  });

describe('pushEventAppFor (OMNA push application ids)', () => {
  it.each([
    ['x-wap-application:wml.ua', 'wml.ua'],
    ['x-oma-application:ulp.ua', 'ulp.ua'],
    ['urn:x-wap-application:mms.ua', 'mms.ua'],
    ['2', 'wml.ua'],
    ['0x04', 'mms.ua'],
    ['16', 'ulp.ua'],
    ['0x9065', 'push.scws'],
    ['4660', '4660'],
    ['emn.ua', 'emn.ua'],
    [undefined, 'wml.ua'],
  ])('%s → %s', (id, app) => expect(pushEventAppFor(id)).toBe(app));
  it('refuses a value that would break the quoted feature tag', () => {
    expect(() => pushEventAppFor('x-wap-application:a"b')).toThrow(expect.objectContaining({ code: 'PAP_INVALID' }));
  });
});

describe('buildPushMessageRequest', () => {
  it('builds the OMA SIP Push MESSAGE for the kamailio-lab profile', () => {
    const request = buildPushMessageRequest(push('x-wap-application:wml.ua'), 'sip:alice@127.0.0.1', loadProfile('kamailio-lab'));
    expect(request).toMatchObject({
      method: 'MESSAGE',
      requestUri: 'sip:alice@127.0.0.1',
      to: 'sip:alice@127.0.0.1',
      from: 'sip:push-agent@127.0.0.1',
      fromDisplayName: 'Push Agent',
      contentType: 'application/vnd.wap.sic',
      headers: { 'P-Asserted-Identity': '<sip:push-agent@127.0.0.1>', 'Accept-Contact': '*;+g.oma.pusheventapp="wml.ua"' },
    });
    expect(request.body?.equals(sic)).toBe(true);
    expect(Object.keys(request.headers ?? {}).map((h) => h.toLowerCase())).not.toContain('contact');
    expect(request.nextHop).toBeUndefined();
  });

  it('IMS profile: asserted identity, require;explicit; numeric app id', () => {
    const request = buildPushMessageRequest(push('4'), 'sip:+15551234567@ims.example.com;user=phone', loadProfile('ims'));
    expect(request.headers).toMatchObject({
      'P-Asserted-Identity': '<sip:push-as@ims.example.com>',
      'Accept-Contact': '*;+g.oma.pusheventapp="mms.ua";require;explicit',
    });
  });

  it('omits PAI and Accept-Contact when the profile says so, adds extraHeaders, pins the transport', () => {
    const p = profile(
      { pAssertedIdentity: false, acceptContact: false, extraHeaders: { 'X-Push': 'yes' } },
      { outboundProxy: { host: '127.0.0.1', port: 5070 } },
    );
    const request = buildPushMessageRequest(push(), 'sip:a@example.com', p, { transport: 'tcp' });
    expect(request.headers).toEqual({ 'X-Push': 'yes' });
    expect(request.nextHop).toEqual({ host: '127.0.0.1', port: 5070, transport: 'tcp' });
  });

  it('refuses extraHeaders that would set Contact (RFC 3428 §4) or engine-owned headers', () => {
    for (const name of ['Contact', 'Call-ID', 'content-length']) {
      expect(() => buildPushMessageRequest(push(), 'sip:a@example.com', profile({ extraHeaders: { [name]: 'x' } }))).toThrow(
        expect.objectContaining({ code: 'PROFILE_INVALID' }),
      );
    }
  });

  it('a profile with a refused extra header is refused on every build, not only the first', () => {
    // Past the schema (which refuses it too): the builder's own check must not be a first-build-only one.
    const valid = profile();
    const bad = { ...valid, message: { ...valid.message, extraHeaders: { Contact: '<sip:x@y>' } } };
    for (let i = 0; i < 3; i++) {
      expect(() => buildPushMessageRequest(push(), 'sip:a@example.com', bad)).toThrow(expect.objectContaining({ code: 'PROFILE_INVALID' }));
    }
  });

  it('shares one prepared, frozen header set per profile and push application; only per-push parts differ', () => {
    const p = profile({ extraHeaders: { 'X-Site': 'east-1' } });
    const a = buildPushMessageRequest(push('x-wap-application:wml.ua'), 'sip:a@example.com', p, {
      identity: { callId: 'c1@x', fromTag: 't1', cseq: 1 },
    });
    const b = buildPushMessageRequest(push('x-wap-application:wml.ua'), 'sip:b@example.com', p, {
      identity: { callId: 'c2@x', fromTag: 't2', cseq: 1 },
    });
    const other = buildPushMessageRequest(push('x-oma-application:ulp.ua'), 'sip:a@example.com', p);
    expect(a.headers).toBe(b.headers);
    expect(Object.isFrozen(a.headers)).toBe(true);
    expect(a.headers).toEqual({ 'Accept-Contact': '*;+g.oma.pusheventapp="wml.ua"', 'X-Site': 'east-1' });
    expect(other.headers).not.toBe(a.headers);
    expect(other.headers?.['Accept-Contact']).toBe('*;+g.oma.pusheventapp="ulp.ua"');
    expect([a.requestUri, a.to, a.identity?.callId]).toEqual(['sip:a@example.com', 'sip:a@example.com', 'c1@x']);
    expect([b.requestUri, b.to, b.identity?.callId]).toEqual(['sip:b@example.com', 'sip:b@example.com', 'c2@x']);
    // Another profile object gets its own headers, even with the same content.
    const q = profile({ extraHeaders: { 'X-Site': 'west-2' } });
    expect(buildPushMessageRequest(push('x-wap-application:wml.ua'), 'sip:a@example.com', q).headers?.['X-Site']).toBe('west-2');
  });

  it('acceptContactFor formats the RFC 3841 value', () => {
    expect(acceptContactFor('ulp.ua', true)).toBe('*;+g.oma.pusheventapp="ulp.ua";require;explicit');
  });
});

describe('messageTransportFor', () => {
  const udp = profile({}, { outboundProxy: { host: '127.0.0.1', transport: 'udp' } });
  it('UDP up to the threshold, then TCP or hand-back per largeMessage', () => {
    expect(messageTransportFor(1300, udp)).toBe('udp');
    expect(messageTransportFor(1301, udp)).toBe('tcp');
    expect(messageTransportFor(1301, profile({ largeMessage: 'hand-back' }))).toBe('hand-back');
    expect(messageTransportFor(900, profile({ sizeThreshold: 800 }))).toBe('tcp');
  });
  it('always TCP when the outbound hop is TCP', () => {
    expect(messageTransportFor(10, loadProfile('ims'))).toBe('tcp');
  });
  it('estimateRequestBytes counts body, headers and the engine allowance', () => {
    const request = buildPushMessageRequest(push('2'), 'sip:alice@127.0.0.1', loadProfile('kamailio-lab'));
    const estimate = estimateRequestBytes(request);
    expect(estimate).toBeGreaterThan(sic.length + 300);
    expect(estimate).toBeLessThan(sic.length + 700);
    const big = { ...request, body: Buffer.alloc(1100) };
    expect(messageTransportFor(estimateRequestBytes(big), loadProfile('kamailio-lab'))).toBe('tcp');
  });
});

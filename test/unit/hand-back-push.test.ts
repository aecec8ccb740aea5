/**
 * The hand-back's control entity, for every PAP version a PPG can be configured to speak, read back with
 * the project's own PAP parser (the same codec that reads PIs' requests).
 */
import { describe, expect, it } from 'vitest';
import { AgentError, ErrorCodes } from '../../src/errors.js';
import { handBackAddress } from '../../src/push/address.js';
import { buildHandBackPush, PPG_PAP_VERSIONS, type PpgPapVersion } from '../../src/push/pap/hand-back-push.js';
import { parsePapRequest } from '../../src/push/pap/pap-parser.js';
import type { PushSubmission } from '../../src/push/pap/pap-types.js';

const wbxml = Buffer.from([0x02, 0x05, 0x6a, 0x00, 0x45, 0xc6, 0x0d, 0x0a, 0x2d, 0x2d, 0xff, 0x00, 0x01, 0x01]);

function submission(overrides: Partial<PushSubmission> = {}): PushSubmission {
  return {
    pushId: 'id-1@pi.example.com',
    papVersion: '2.1',
    addresses: ['WAPPUSH=sip%3Acarol%40example.net/TYPE=USER'],
    // What a PI sent in the field: a required network beside a bearer that is not required.
    qos: { priority: 'high', deliveryMethod: 'confirmed', network: 'GSM', networkRequired: true, bearer: 'GPRS', bearerRequired: false },
    deliverBefore: new Date('2030-01-02T00:00:00Z'),
    notifyTo: 'http://pi.example.com/notify?a=1&b=2',
    progressNotesRequested: true,
    sourceReference: 'src <&> "ref"',
    replacePushId: 'old-1@pi.example.com',
    replaceMethod: 'pending-only',
    content: {
      contentType: 'application/vnd.wap.sic',
      headers: {
        'content-type': 'application/vnd.wap.sic',
        'x-wap-application-id': 'x-wap-application:wml.ua',
        'content-location': 'http://x/1',
      },
      body: wbxml,
    },
    ...overrides,
  };
}

function control(body: Buffer): string {
  const text = body.toString('latin1');
  return text.slice(text.indexOf('<?xml'), text.indexOf('</pap>') + 6);
}

function readBack(built: { contentType: string; body: Buffer }): PushSubmission {
  const request = parsePapRequest(built.contentType, built.body);
  if (request.kind !== 'push') throw new Error('not a push-message');
  return request.push;
}

const PLMN = 'WAPPUSH=+358401234567/TYPE=PLMN';

describe('buildHandBackPush: valid PAP for the PPG in front of the agent', () => {
  for (const version of PPG_PAP_VERSIONS) {
    it(`PAP ${version}: parses back as that version, content byte-exact, flags agree, attributes of ${version} only`, () => {
      const built = buildHandBackPush(submission(), {
        bearerHint: 'SMS',
        address: PLMN,
        papVersion: version,
        notifyTo: 'http://pi.example.com/n',
      });
      const back = readBack(built);
      expect(back.papVersion).toBe(version);
      expect(back.pushId).toBe('id-1@pi.example.com');
      expect(back.addresses).toEqual([PLMN]);
      // An agent-chosen hint is advice: both flags false, and written so (PAP requires them to agree).
      expect(back.qos).toMatchObject({ bearer: 'SMS', bearerRequired: false, networkRequired: false, network: 'GSM' });
      expect(control(built.body)).toMatch(/network-required="false"[^>]*bearer-required="false"/);
      expect(back.notifyTo).toBe('http://pi.example.com/n');
      expect(back.sourceReference).toBe('src <&> "ref"');
      expect(back.deliverBefore?.toISOString()).toBe('2030-01-02T00:00:00.000Z');
      expect(back.content.body.equals(wbxml)).toBe(true);
      expect(back.content.headers['x-wap-application-id']).toBe('x-wap-application:wml.ua');
      if (version === '1.0') {
        expect(control(built.body)).not.toMatch(/replace-push-id|replace-method/);
        expect(control(built.body)).toContain('-//WAPFORUM//DTD PAP 1.0//EN');
      } else {
        expect(back.replacePushId).toBe('old-1@pi.example.com');
        expect(back.replaceMethod).toBe('pending-only');
      }
    });
  }

  it("the bearer the PI required: both flags true, and a network is named (the PI's, the configured one, else Any)", () => {
    const required = (network: string | undefined, configured?: string): PushSubmission['qos'] => {
      const push = submission({ qos: { bearer: 'SMS', bearerRequired: true, networkRequired: false, ...(network ? { network } : {}) } });
      return readBack(
        buildHandBackPush(push, { bearerHint: 'sms', address: PLMN, papVersion: '1.0', ...(configured ? { network: configured } : {}) }),
      ).qos;
    };
    expect(required('GSM')).toMatchObject({ bearerRequired: true, networkRequired: true, network: 'GSM' });
    expect(required(undefined, 'GSM')).toMatchObject({ bearerRequired: true, networkRequired: true, network: 'GSM' });
    expect(required(undefined)).toMatchObject({ bearerRequired: true, networkRequired: true, network: 'Any' });
  });

  it('no notify URL unless the PPG is the party that notifies', () => {
    const built = buildHandBackPush(submission(), { bearerHint: 'SMS', address: PLMN, papVersion: '2.0' });
    expect(readBack(built).notifyTo).toBeUndefined();
    expect(control(built.body)).not.toContain('ppg-notify-requested-to');
  });

  it.each(['SMS\r\nX-Evil: 1', 'a"b', '', 'x'.repeat(65)])('refuses a bearer hint that is not a QoS name: %j', (hint) => {
    expect(() => buildHandBackPush(submission(), { bearerHint: hint, address: PLMN, papVersion: '1.0' as PpgPapVersion })).toThrow(
      expect.objectContaining({ code: ErrorCodes.HAND_BACK_NOT_POSSIBLE, field: 'bearer' }),
    );
  });
});

describe('handBackAddress: an address the PPG can route over the hint', () => {
  const addressing = { numberBearers: ['SMS'], msisdns: { 'sip:dave@example.net': '0401234567' }, defaultCountryCode: '358' };

  it("keeps the PI's PLMN address for SMS", () => {
    expect(handBackAddress('WAPPUSH=+15551234567/TYPE=PLMN@ppg.example.com', 'sip:+15551234567@h;user=phone', 'SMS', addressing)).toBe(
      'WAPPUSH=+15551234567/TYPE=PLMN@ppg.example.com',
    );
  });

  it('derives TYPE=PLMN from a tel: or ;user=phone AOR', () => {
    expect(handBackAddress('WAPPUSH=tel%3A%2B15551234567/TYPE=USER', 'tel:+15551234567', 'sms', addressing)).toBe(
      'WAPPUSH=+15551234567/TYPE=PLMN',
    );
    expect(
      handBackAddress('WAPPUSH=sip%3A%2B1555123%40h%3Buser%3Dphone/TYPE=USER@ppg', 'sip:+1555123@h;user=phone', 'SMS', addressing),
    ).toBe('WAPPUSH=+1555123/TYPE=PLMN@ppg');
  });

  it('uses the configured lookup for a SIP identity, normalised to E.164', () => {
    expect(handBackAddress('WAPPUSH=sip%3Adave%40example.net/TYPE=USER', 'sip:dave@example.net', 'SMS', addressing)).toBe(
      'WAPPUSH=+358401234567/TYPE=PLMN',
    );
  });

  it('refuses to hand a SIP identity back for SMS when no number is known', () => {
    let caught: unknown;
    try {
      handBackAddress('WAPPUSH=sip%3Acarol%40example.net/TYPE=USER', 'sip:carol@example.net', 'SMS', addressing);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(AgentError);
    expect(caught).toMatchObject({ code: ErrorCodes.HAND_BACK_NOT_POSSIBLE, message: 'no MSISDN for SMS hand-back' });
  });

  it('leaves the address alone for a bearer that does not route by number', () => {
    expect(handBackAddress('WAPPUSH=sip%3Acarol%40example.net/TYPE=USER', 'sip:carol@example.net', 'GPRS', addressing)).toBe(
      'WAPPUSH=sip%3Acarol%40example.net/TYPE=USER',
    );
  });
});

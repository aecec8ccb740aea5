import { describe, expect, it } from 'vitest';
import {
  buildBadMessageResponse,
  buildCancelResponse,
  buildPushResponse,
  buildResultNotification,
  buildStatusQueryResponse,
} from '../../src/push/pap/pap-builder.js';
import { describePapCode, PAP_CODE_DESCRIPTIONS, papCodeForError, PapCode } from '../../src/push/pap/pap-codes.js';
import { parsePapResponse } from '../../src/push/pap/pap-response-parser.js';

const t0 = new Date('2024-01-01T06:45:01.789Z');

describe('PAP codes', () => {
  it('has the standard description for every code used', () => {
    for (const code of [1000, 1001, 2000, 2001, 2002, 2004, 2007, 3000, 3002, 3010, 4000, 4001]) {
      expect((PAP_CODE_DESCRIPTIONS as Record<number, string>)[code]).toBeTruthy();
    }
    expect(describePapCode(3010)).toBe('Required bearer not available');
    expect(describePapCode(2999)).toBe('Client error');
    expect(papCodeForError('ADDRESS_INVALID')).toBe(PapCode.ADDRESS_ERROR);
    expect(papCodeForError('PAP_VERSION')).toBe(3002);
    expect(papCodeForError('PAP_NOT_IMPLEMENTED')).toBe(3001);
    expect(papCodeForError('MULTIPART_INVALID')).toBe(2000);
  });
});

describe('PAP response builders', () => {
  it('push-response: DOCTYPE of the request version, escaped values, progress-note before response-result', () => {
    const xml = buildPushResponse({
      pushId: 'a"<&>\'b',
      code: 3010,
      desc: 'Required bearer not available; hint=SMS',
      senderName: 'agent',
      replyTime: t0,
      progressNote: { stage: 'hand-back', note: 'bearer-hint=SMS', time: t0 },
      version: '2.1',
    });
    expect(xml).toContain('<!DOCTYPE pap PUBLIC "-//WAPFORUM//DTD PAP 2.1//EN" "http://www.openmobilealliance.org/tech/DTD/pap_2.1.dtd">');
    expect(xml).toContain('reply-time="2024-01-01T06:45:01Z"');
    expect(xml.indexOf('<progress-note')).toBeLessThan(xml.indexOf('<response-result'));
    const parsed = parsePapResponse(Buffer.from(xml));
    expect(parsed).toMatchObject({ kind: 'push-response', version: '2.1', pushId: 'a"<&>\'b', code: 3010 });
  });

  it('defaults to PAP 2.0 and the standard description', () => {
    const xml = buildPushResponse({ pushId: 'p', code: 1001, replyTime: t0 });
    expect(xml).toContain('"-//WAPFORUM//DTD PAP 2.0//EN"');
    expect(parsePapResponse(Buffer.from(xml)).desc).toBe('Accepted for processing');
  });

  it('badmessage-response truncates and escapes the fragment, dropping characters XML cannot carry', () => {
    const fragment = Buffer.concat([Buffer.from('<pap>&"\u0001'), Buffer.alloc(1000, 0x41)]);
    const xml = buildBadMessageResponse({ code: 2000, badMessageFragment: fragment, maxFragmentChars: 64 });
    const parsed = parsePapResponse(Buffer.from(xml));
    expect(parsed.kind).toBe('badmessage-response');
    const echoed = parsed.element.attributes['bad-message-fragment'];
    expect(echoed.startsWith('<pap>&"\uFFFD')).toBe(true);
    expect(echoed).toHaveLength(64);
  });

  it('cancel-response and statusquery-response carry one result per outcome with addresses', () => {
    const cancel = parsePapResponse(
      Buffer.from(buildCancelResponse({ pushId: 'c', results: [{ code: 1000, addresses: ['WAPPUSH=a/TYPE=USER'] }, { code: 2008 }] })),
    );
    expect(cancel.element.children.map((c) => [c.attributes.code, c.children.length])).toEqual([
      ['1000', 1],
      ['2008', 0],
    ]);
    const status = parsePapResponse(
      Buffer.from(
        buildStatusQueryResponse({
          pushId: 's',
          results: [{ address: 'WAPPUSH=a/TYPE=USER', messageState: 'delivered', code: 1000, eventTime: t0 }],
          version: '1.0',
        }),
      ),
    );
    expect(status.version).toBe('1.0');
    const result = status.element.children[0];
    expect(result.attributes).toMatchObject({ 'message-state': 'delivered', code: '1000', 'event-time': '2024-01-01T06:45:01Z' });
    expect(result.children[0].attributes['address-value']).toBe('WAPPUSH=a/TYPE=USER');
  });

  it('resultnotification-message has times, state, address and echoed QoS', () => {
    const xml = buildResultNotification({
      pushId: 'r',
      address: 'WAPPUSH=+15551234567/TYPE=PLMN',
      messageState: 'undeliverable',
      code: 3010,
      eventTime: t0,
      receivedTime: new Date('2024-01-01T06:45:00Z'),
      senderAddress: 'http://agent/pap',
      qos: { bearer: 'SMS', bearerRequired: true, networkRequired: false },
    });
    const parsed = parsePapResponse(Buffer.from(xml));
    expect(parsed.element.attributes).toMatchObject({
      'received-time': '2024-01-01T06:45:00Z',
      'message-state': 'undeliverable',
      desc: 'Required bearer not available',
    });
    expect(parsed.element.children.map((c) => c.name)).toEqual(['address', 'quality-of-service']);
    expect(parsed.element.children[1].attributes).toEqual({ bearer: 'SMS', 'bearer-required': 'true' });
  });
});

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parsePapRequest } from '../../src/push/pap/pap-parser.js';
import type { PushSubmission } from '../../src/push/pap/pap-types.js';

const fixture = (name: string): Buffer => readFileSync(new URL(`../fixtures/pap/${name}`, import.meta.url));
const XML = 'application/xml';

function errorOf(fn: () => unknown): { code?: string; field?: string } {
  try {
    fn();
  } catch (err) {
    return err as { code?: string; field?: string };
  }
  throw new Error('expected an error');
}

function pushOf(contentType: string, body: Buffer): PushSubmission {
  const request = parsePapRequest(contentType, body);
  if (request.kind !== 'push') throw new Error(`expected a push, got ${request.kind}`);
  return request.push;
}

const control = (inner: string, prolog = '<?xml version="1.0"?>\n'): string => `${prolog}<pap>${inner}</pap>`;
function multipart(controlXml: string, content = 'hello', contentHeaders = 'Content-Type: text/plain\r\n'): Buffer {
  return Buffer.from(`--m\r\nContent-Type: application/xml\r\n\r\n${controlXml}\r\n--m\r\n${contentHeaders}\r\n${content}\r\n--m--\r\n`);
}
const MP = 'multipart/related; boundary=m; type="application/xml"';

describe('parsePapRequest: real PI documents', () => {
  it('PAP 1.0, Kannel style (LF, preamble, WBXML SL)', () => {
    const push = pushOf('multipart/related; boundary=asdlfkjiurwgasf; type="application/xml"', fixture('push-1.0-sl-wbxml.multipart'));
    expect(push.papVersion).toBe('1.0');
    expect(push.pushId).toBe('9fjeo39jf084@pi.com');
    expect(push.addresses).toEqual(['WAPPUSH=+358408201681/TYPE=PLMN@ppg.carrier.com']);
    expect(push.deliverBefore?.toISOString()).toBe('2030-02-15T21:25:00.000Z');
    expect(push.qos).toEqual({
      priority: 'low',
      deliveryMethod: 'unconfirmed',
      bearer: 'SMS',
      bearerRequired: true,
      network: 'GSM',
      networkRequired: true,
    });
    expect(push.content.contentType).toBe('application/vnd.wap.slc');
    expect(push.content.headers['x-wap-application-id']).toBe('x-wap-application:wml.ua');
    expect(push.content.body.equals(fixture('sl.wbxml'))).toBe(true);
  });

  it('PAP 2.0 with wap-pap-ver in the DOCTYPE internal subset, WBXML SI byte-exact', () => {
    const push = pushOf('multipart/related; boundary="=_boundary 42"; type="application/xml"', fixture('push-2.0-si-wbxml.multipart'));
    expect(push.papVersion).toBe('2.0');
    expect(push.notifyTo).toBe('http://pi.example.com/pap-notify?id=2&k=v');
    expect(push.progressNotesRequested).toBe(true);
    expect(push.sourceReference).toBe('mail-service');
    expect(push.qos.priority).toBe('high');
    expect(push.content.headers['content-location']).toBe('http://pi.example.com/si/2');
    expect(push.content.body.equals(fixture('si.wbxml'))).toBe(true);
  });

  it('PAP 2.1, the digest example (text SI, deliver-after, QoS)', () => {
    const push = pushOf('multipart/related; boundary=asdlfkjiurwghasf; type="application/xml"', fixture('push-2.1-si-text.multipart'));
    expect(push.papVersion).toBe('2.1');
    expect(push.deliverAfter?.toISOString()).toBe('2024-01-01T06:45:00.000Z');
    expect(push.qos.deliveryMethod).toBe('preferconfirmed');
    expect(push.content.contentType).toBe('text/vnd.wap.si');
    expect(push.content.body.toString()).toMatch(/^<\?xml version="1.0"\?>\n<!DOCTYPE si/);
    expect(push.content.body.toString()).toMatch(/<\/si>$/);
    expect(push.capabilities).toBeUndefined();
  });

  it('cancel-message and statusquery-message as plain application/xml', () => {
    expect(parsePapRequest(XML, fixture('cancel-2.0.xml'))).toEqual({
      kind: 'cancel',
      pushId: '123@wapforum.org',
      papVersion: '2.0',
      addresses: ['WAPPUSH=aisha.wahl%40blackberry.com%3A7874/TYPE=USER@rim.net'],
    });
    expect(parsePapRequest('text/xml; charset=utf-8', fixture('statusquery-2.1.xml'))).toEqual({
      kind: 'statusquery',
      pushId: '123@wapforum.org',
      papVersion: '2.1',
    });
  });

  it('picks the root part named by start=, and a third part as capabilities', () => {
    const body = Buffer.from(
      '--m\r\nContent-Type: text/plain\r\n\r\ncontent\r\n--m\r\nContent-ID: <ctl@pi>\r\nContent-Type: application/xml\r\n\r\n' +
        control('<push-message push-id="s1"><address address-value="WAPPUSH=bob/TYPE=USER"/></push-message>') +
        '\r\n--m\r\nContent-Type: application/rdf+xml\r\n\r\n<rdf/>\r\n--m--',
    );
    const push = pushOf('multipart/related; boundary=m; start="<ctl@pi>"', body);
    expect(push.content.body.toString()).toBe('content');
    expect(push.capabilities?.toString()).toBe('<rdf/>');
  });
});

describe('parsePapRequest: versions', () => {
  const sq = '<statusquery-message push-id="v"/>';
  it.each([
    ['<!DOCTYPE pap SYSTEM "http://www.wapforum.org/DTD/pap_1.0.dtd">', '1.0'],
    ['<?wap-pap-ver supported-versions="2.0,1.*"?>', '2.0'],
    ['<?wap-pap-ver supported-versions="1.*"?>', '1.0'],
    ['<!DOCTYPE pap PUBLIC "-//WAPFORUM//DTD PAP 2.4//EN" "x">', '2.3'],
    ['', '2.0'],
  ])('%s → %s', (prolog, version) => {
    const request = parsePapRequest(XML, Buffer.from(control(sq, `<?xml version="1.0"?>${prolog}`)));
    expect(request.kind === 'statusquery' && request.papVersion).toBe(version);
  });

  it('refuses PAP 3.0 and a wap-pap-ver list with nothing supported (PAP_VERSION)', () => {
    expect(errorOf(() => parsePapRequest(XML, fixture('pap-3.0.xml'))).code).toBe('PAP_VERSION');
    const body = Buffer.from(control(sq, '<?wap-pap-ver supported-versions="3.0,4.*"?>'));
    expect(errorOf(() => parsePapRequest(XML, body)).code).toBe('PAP_VERSION');
  });
});

describe('parsePapRequest: refusals', () => {
  it.each([
    ['xxe-external-entity.xml', 'PAP_INVALID', 'DOCTYPE'],
    ['billion-laughs.xml', 'PAP_INVALID', 'DOCTYPE'],
    ['parameter-entity.xml', 'PAP_INVALID', 'DOCTYPE'],
    ['undeclared-entity.xml', 'PAP_INVALID', 'cancel-message@push-id'],
    ['truncated.xml', 'PAP_INVALID', 'xml'],
    ['wrong-root.xml', 'PAP_INVALID', 'pap'],
    ['missing-push-id.xml', 'PAP_INVALID', 'push-message@push-id'],
    ['bad-address.xml', 'ADDRESS_INVALID', 'address-value'],
    ['ccq-2.0.xml', 'PAP_NOT_IMPLEMENTED', 'ccq-message'],
  ])('%s → %s (%s)', (name, code, field) => {
    const err = errorOf(() => parsePapRequest(XML, fixture(name)));
    expect(err.code).toBe(code);
    expect(err.field).toBe(field);
  });

  it('a push-message without a content entity', () => {
    const body = Buffer.from(control('<push-message push-id="p"><address address-value="WAPPUSH=bob/TYPE=USER"/></push-message>'));
    expect(errorOf(() => parsePapRequest(XML, body)).field).toBe('content');
  });

  it.each([
    ['no address', '<push-message push-id="p"/>', 'address'],
    [
      'bad boolean',
      '<push-message push-id="p" progress-notes-requested="yes"><address address-value="WAPPUSH=a/TYPE=USER"/></push-message>',
      'push-message@progress-notes-requested',
    ],
    [
      'bad timestamp',
      '<push-message push-id="p" deliver-before-timestamp="2024-02-30T00:00:00Z"><address address-value="WAPPUSH=a/TYPE=USER"/></push-message>',
      'push-message@deliver-before-timestamp',
    ],
    [
      'bad priority',
      '<push-message push-id="p"><address address-value="WAPPUSH=a/TYPE=USER"/><quality-of-service priority="urgent"/></push-message>',
      'quality-of-service@priority',
    ],
    [
      'non-http notify URL',
      '<push-message push-id="p" ppg-notify-requested-to="file:///etc/passwd"><address address-value="WAPPUSH=a/TYPE=USER"/></push-message>',
      'push-message@ppg-notify-requested-to',
    ],
    ['two messages', '<cancel-message push-id="a"/><cancel-message push-id="b"/>', 'pap'],
    ['unknown message', '<hello/>', 'pap'],
  ])('%s → PAP_INVALID naming the field', (_name, inner, field) => {
    const err = errorOf(() => parsePapRequest(MP, multipart(control(inner))));
    expect(err.code).toBe('PAP_INVALID');
    expect(err.field).toBe(field);
  });

  it('content entity without Content-Type, wrong control type, wrong request type, size limit', () => {
    const ok = control('<push-message push-id="p"><address address-value="WAPPUSH=a/TYPE=USER"/></push-message>');
    expect(errorOf(() => parsePapRequest(MP, multipart(ok, 'x', 'X-Wap-Application-Id: 2\r\n'))).field).toBe('content.Content-Type');
    const wrongControl = Buffer.from(`--m\r\nContent-Type: text/plain\r\n\r\n${ok}\r\n--m--`);
    expect(errorOf(() => parsePapRequest(MP, wrongControl)).field).toBe('control-entity');
    expect(errorOf(() => parsePapRequest('text/plain', Buffer.from(ok))).field).toBe('Content-Type');
    expect(errorOf(() => parsePapRequest(MP, multipart(ok), { maxControlBytes: 50 })).field).toBe('control-entity');
  });

  it('deeply nested elements are PAP_INVALID, not a parser crash', () => {
    const body = Buffer.from(`<pap>${'<a>'.repeat(5000)}${'</a>'.repeat(5000)}</pap>`);
    expect(errorOf(() => parsePapRequest(XML, body)).code).toBe('PAP_INVALID');
  });

  it('invalid UTF-8 and a second root element', () => {
    expect(errorOf(() => parsePapRequest(XML, Buffer.from([0x3c, 0x70, 0x61, 0x70, 0xc3, 0x28, 0x2f, 0x3e]))).field).toBe('charset');
    expect(errorOf(() => parsePapRequest(XML, Buffer.from('<pap/><pap/>'))).field).toBe('pap');
  });

  it('decodes character references but never expands other entities', () => {
    const body = Buffer.from(control('<cancel-message push-id="a&#x41;&#66;&lt;&amp;"/>'));
    const request = parsePapRequest(XML, body);
    expect(request.kind === 'cancel' && request.pushId).toBe('aAB<&');
  });
});

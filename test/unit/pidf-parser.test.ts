import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parsePresence } from '../../src/presence/pidf-parser.js';
import type { PresenceDocument, PresenceSnapshot } from '../../src/capabilities/presence-snapshot.js';
import { codeOf } from '../support/error-code.js';

const fixture = (name: string): Buffer => readFileSync(new URL(`../fixtures/pidf/${name}`, import.meta.url));
const PIDF = 'application/pidf+xml';

function doc(snapshot: PresenceSnapshot): PresenceDocument {
  if (snapshot.kind !== 'document') throw new Error(`expected a document, got ${snapshot.kind}`);
  return snapshot;
}

describe('parsePresence: documents', () => {
  it('reads the full OMA push-open example completely', () => {
    const d = doc(parsePresence(fixture('oma-push-open.xml'), PIDF, { receivedAt: 42 }));
    expect(d.entity).toBe('sip:alice@ims.example.com');
    expect(d.receivedAt).toBe(42);
    expect(d.tuples).toHaveLength(1);
    const [t] = d.tuples;
    expect(t).toMatchObject({
      id: 'push1',
      basic: 'open',
      contact: 'sip:alice@ims.example.com',
      timestamp: '2024-01-01T06:40:00Z',
      service: { serviceId: 'org.openmobilealliance:Push', version: '1.0', description: 'SIP Push receiver' },
      willingness: 'open',
    });
    expect(t.caps?.methods.supported).toEqual(['MESSAGE', 'INVITE']);
    expect(d.persons[0]).toMatchObject({ id: 'p1', overridingWillingness: 'open' });
    expect(d.devices[0]).toMatchObject({
      id: 'd1',
      deviceId: 'urn:uuid:dd1289fa-c3d7-47bd-a40d-f1f1b2cc5ffc',
      networks: [{ id: 'IMS', state: 'active' }],
    });
    expect(d.warnings).toEqual([]);
  });

  it('reads a carrier document with several services, devices, caps, RPID and references', () => {
    const d = doc(parsePresence(fixture('carrier-multi-service.xml'), PIDF));
    expect(d.tuples.map((t) => t.id)).toEqual(['SessModeMessa', 'mmtel', 'push', 'sms']);
    const push = d.tuples[2];
    expect(push).toMatchObject({ registrationState: 'active', barringState: 'terminated', priority: 1 });
    expect(push.pushApps).toEqual(['wml.ua', 'mms.ua']);
    expect(push.caps?.methods).toEqual({ supported: ['MESSAGE'], notsupported: ['INFO'] });
    expect(push.caps?.eventPackages.supported).toEqual(['presence', 'reg']);
    expect(push.caps?.media).toEqual({ message: true });
    expect(push.notes).toEqual(['push receiver on the phone']);
    expect(d.tuples[0].priority).toBe(0);
    expect(d.tuples[1].caps?.media).toEqual({ audio: true, video: false });
    expect(d.tuples[3].contact).toBe('tel:+14252339105');
    expect(d.persons[0]).toMatchObject({ activities: ['busy', 'on-the-phone'], notes: ['In a meeting'] });
    expect(d.devices.map((x) => x.networks)).toEqual([
      [
        { id: 'IMS', state: 'active' },
        { id: 'GSM', state: 'active' },
      ],
      [{ id: 'IMS', state: 'terminated' }],
    ]);
    expect(d.devices[0].mobility).toEqual(['mobile']);
    expect(d.notes).toEqual(["Alice & Bob's line \u263A"]);
  });

  it('resolves namespaces, not prefixes: odd prefixes work and a foreign "op:" is ignored', () => {
    const d = doc(parsePresence(fixture('vendor-odd-prefixes.xml'), PIDF));
    const [t] = d.tuples;
    expect(t.basic).toBe('open');
    expect(t.service?.serviceId).toBe('org.openmobilealliance:Push');
    // <op:willingness> is bound to urn:example:vendor:not-oma here, so it is not OMA willingness.
    expect(t.willingness).toBeUndefined();
    expect(t.caps?.methods.supported).toEqual(['MESSAGE']);
    expect(d.persons[0]).toMatchObject({ activities: ['away'], overridingWillingness: 'open' });
    expect(d.devices[0].networks).toEqual([{ id: 'IMS', state: 'active' }]);
  });

  it('reads a baresip-like PIDF without OMA elements', () => {
    const d = doc(parsePresence(fixture('baresip.xml'), PIDF));
    expect(d.tuples).toEqual([{ id: 't7683', basic: 'open', contact: 'sip:frank@127.0.0.1', pushApps: [], notes: [] }]);
    expect(d.persons[0].activities).toEqual(['busy']);
  });

  it('reads several devices with open/closed push tuples', () => {
    const d = doc(parsePresence(fixture('several-devices-push-open-on-one.xml'), PIDF));
    expect(d.tuples.map((t) => [t.id, t.basic, t.deviceId])).toEqual([
      ['push-desk', 'closed', 'urn:uuid:desk'],
      ['push-phone', 'open', 'urn:uuid:phone'],
    ]);
  });

  it('reads the closed document Kamailio generates on PUBLISH Expires: 0', () => {
    const d = doc(parsePresence(fixture('kamailio-publication-removed.xml'), PIDF));
    expect(d.tuples).toEqual([{ id: '0x7f3a1c0b', basic: 'closed', pushApps: [], notes: [] }]);
  });

  it('tolerates unknown <basic> values, missing tuple ids and bad priorities with warnings', () => {
    const xml = `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:x@y">
      <tuple><status><basic>maybe</basic></status><contact priority="7">sip:x@y</contact></tuple></presence>`;
    const d = doc(parsePresence(Buffer.from(xml)));
    expect(d.tuples[0].id).toBe('#0');
    expect(d.tuples[0].basic).toBeUndefined();
    expect(d.tuples[0].priority).toBeUndefined();
    expect(d.warnings).toHaveLength(3);
  });

  it('accepts UTF-16 with a BOM and a UTF-8 BOM', () => {
    const xml = '<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:\u00e9@y"/>';
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(xml, 'utf16le')]);
    expect(doc(parsePresence(utf16)).entity).toBe('sip:\u00e9@y');
    const utf8 = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(xml)]);
    expect(doc(parsePresence(utf8)).entity).toBe('sip:\u00e9@y');
  });
});

describe('parsePresence: empty bodies', () => {
  it('returns kind empty for a zero-length body, whatever the Content-Type', () => {
    expect(parsePresence(fixture('empty.xml'), PIDF, { receivedAt: 7 })).toEqual({ kind: 'empty', receivedAt: 7 });
    expect(parsePresence(Buffer.alloc(0)).kind).toBe('empty');
    expect(parsePresence(Buffer.from(' \r\n\t '), 'multipart/related').kind).toBe('empty');
  });
});

describe('parsePresence: refusals (PIDF_INVALID)', () => {
  it('refuses a DOCTYPE with an external entity (XXE) without reading the file', () => {
    expect(codeOf(() => parsePresence(fixture('xxe.xml'), PIDF))).toBe('PIDF_INVALID');
  });

  it('refuses billion-laughs quickly', () => {
    const started = Date.now();
    expect(codeOf(() => parsePresence(fixture('billion-laughs.xml'), PIDF))).toBe('PIDF_INVALID');
    expect(Date.now() - started).toBeLessThan(500);
  });

  it('refuses an <!ENTITY> even without a DOCTYPE keyword, and undeclared entity references', () => {
    const decl = '<!ENTITY a "b"><presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:x@y"/>';
    expect(codeOf(() => parsePresence(Buffer.from(decl)))).toBe('PIDF_INVALID');
    const ref = '<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:x@y"><note>&xxe;</note></presence>';
    expect(codeOf(() => parsePresence(Buffer.from(ref)))).toBe('PIDF_INVALID');
  });

  it('refuses a body above maxBytes (default 64 KiB) and honours a custom limit', () => {
    expect(codeOf(() => parsePresence(fixture('huge.xml'), PIDF))).toBe('PIDF_INVALID');
    expect(codeOf(() => parsePresence(fixture('baresip.xml'), PIDF, { maxBytes: 100 }))).toBe('PIDF_INVALID');
    expect(doc(parsePresence(fixture('huge.xml'), PIDF, { maxBytes: 200_000 })).tuples).toHaveLength(600);
  });

  it('refuses nesting deeper than maxDepth', () => {
    const deep = `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:x@y">${'<a>'.repeat(50)}${'</a>'.repeat(50)}</presence>`;
    expect(codeOf(() => parsePresence(Buffer.from(deep)))).toBe('PIDF_INVALID');
    expect(doc(parsePresence(Buffer.from(deep), undefined, { maxDepth: 60 })).entity).toBe('sip:x@y');
  });

  it('refuses truncated and malformed documents, naming the problem', () => {
    expect(() => parsePresence(fixture('truncated.xml'), PIDF)).toThrow(/unclosed elements/);
    for (const bad of [
      '<presence',
      'not xml at all',
      '<a></a><b></b>',
      '<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="x"><tuple></presence>',
    ]) {
      expect(codeOf(() => parsePresence(Buffer.from(bad)))).toBe('PIDF_INVALID');
    }
  });

  it('refuses a wrong root, a missing entity, an unbound prefix and a non-PIDF Content-Type', () => {
    expect(() => parsePresence(Buffer.from('<presence entity="sip:x@y"/>'))).toThrow(/expected <presence>/);
    expect(() => parsePresence(Buffer.from('<presence xmlns="urn:ietf:params:xml:ns:pidf"/>'))).toThrow(/entity/);
    const unbound = '<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:x@y"><q:tuple/></presence>';
    expect(() => parsePresence(Buffer.from(unbound))).toThrow(/prefix 'q'/);
    expect(() => parsePresence(fixture('baresip.xml'), 'multipart/related;type="application/rlmi+xml"')).toThrow(/Content-Type/);
    expect(doc(parsePresence(fixture('baresip.xml'), 'application/pidf+xml; charset=UTF-8')).entity).toBe('sip:frank@127.0.0.1');
  });
});

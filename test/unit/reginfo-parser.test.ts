import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseReginfo } from '../../src/registration/reginfo-parser.js';
import type { ReginfoDocument } from '../../src/registration/reginfo-document.js';
import { codeOf } from '../support/error-code.js';

const REGINFO = 'application/reginfo+xml';
const raw = (name: string): Buffer => readFileSync(new URL(`../fixtures/reginfo/${name}`, import.meta.url));
const doc = (name: string): ReginfoDocument => {
  const parsed = parseReginfo(raw(name), REGINFO, { receivedAt: 1000 });
  if (parsed.kind !== 'document') throw new Error(`${name} parsed as ${parsed.kind}`);
  return parsed;
};
const wrap = (inner: string, attrs = 'version="0" state="full"'): Buffer =>
  Buffer.from(`<reginfo xmlns="urn:ietf:params:xml:ns:reginfo" ${attrs}>${inner}</reginfo>`);

describe('parseReginfo: RFC 3680 documents', () => {
  it('reads the RFC 3680 §6 full-state example: registration, both contacts, their states and events', () => {
    const d = doc('rfc3680-full.xml');
    expect(d).toMatchObject({ version: 0, state: 'full', receivedAt: 1000 });
    expect(d.registrations).toHaveLength(1);
    const [r] = d.registrations;
    expect(r).toMatchObject({ aor: 'sip:user@example.com', id: 'as9', state: 'active' });
    expect(r.contacts.map((c) => [c.id, c.state, c.event, c.q, c.uri])).toEqual([
      ['76', 'active', 'registered', 0.8, 'sip:user@pc887.example.com'],
      ['77', 'terminated', 'expired', 0.5, 'sip:user@university.edu'],
    ]);
    expect(d.warnings).toEqual([]);
  });

  it('reads a partial notification with expires and display-name', () => {
    const d = doc('rfc3680-partial.xml');
    expect(d).toMatchObject({ version: 1, state: 'partial' });
    expect(d.registrations[0].contacts[0]).toMatchObject({ id: '78', event: 'created', expires: 3600, displayName: 'Laptop' });
  });

  it('reads feature tags as unknown-params (names lower-cased, quotes removed) and skips foreign elements', () => {
    const d = doc('ims-push-tags.xml');
    const [c1, c2] = d.registrations[0].contacts;
    expect(c1.params).toEqual({ '+g.3gpp.smsip': '', '+g.oma.sip-im': '', audio: '' });
    expect(c2.params).toEqual({ '+g.oma.pusheventapp': 'ua-wml,ua-mms', '+sip.instance': '<urn:gsma:imei:35209900-176148-0>' });
  });

  it('reads the real Kamailio 5.6 recordings: no unknown-param although the REGISTER carried feature tags', () => {
    const created = doc('kamailio-5.6-created.xml');
    expect(created.registrations[0].contacts).toEqual([
      { id: '0x7fad5f2f86d8', state: 'active', event: 'created', expires: 600, uri: 'sip:alice@127.0.0.1:25071', params: {} },
    ]);
    const two = doc('kamailio-5.6-two-contacts.xml');
    expect(two.registrations[0].contacts.map((c) => c.state)).toEqual(['active', 'active']);
    const unregistered = doc('kamailio-5.6-unregistered.xml');
    expect(unregistered.registrations[0].contacts.map((c) => [c.state, c.event])).toEqual([
      ['terminated', 'unregistered'],
      ['active', 'registered'],
    ]);
    const expired = doc('kamailio-5.6-expired.xml');
    expect(expired.registrations[0]).toMatchObject({ state: 'terminated', contacts: [] });
    for (const d of [created, two, unregistered, expired]) expect(d).toMatchObject({ version: 0, state: 'full' });
  });

  it('an empty body is not an error: "nothing published" (Kamailio before the first REGISTER)', () => {
    expect(parseReginfo(Buffer.alloc(0), undefined, { receivedAt: 5 })).toEqual({ kind: 'empty', receivedAt: 5 });
    expect(parseReginfo(Buffer.from(' \r\n'), REGINFO).kind).toBe('empty');
  });

  it('keeps an unknown contact event as a warning, not a failure', () => {
    const d = parseReginfo(
      wrap(
        '<registration aor="sip:a@b" id="r" state="active"><contact id="c" state="active" event="teleported"><uri>sip:a@h</uri></contact></registration>',
      ),
      REGINFO,
    );
    expect(d.kind === 'document' && d.registrations[0].contacts[0].event).toBeUndefined();
    expect(d.kind === 'document' && d.warnings[0]).toMatch(/teleported/);
  });
});

describe('parseReginfo: refusals (REGINFO_INVALID)', () => {
  const cases: Array<[string, Buffer, string | undefined]> = [
    ['a DOCTYPE (XXE)', Buffer.from('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><reginfo/>'), REGINFO],
    ['an undeclared entity', wrap('&x;'), REGINFO],
    ['a PIDF document', Buffer.from('<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@b"/>'), REGINFO],
    ['a wrong Content-Type', wrap(''), 'application/pidf+xml'],
    ['a missing version', wrap('', 'state="full"'), REGINFO],
    ['a negative version', wrap('', 'version="-1" state="full"'), REGINFO],
    ['an unknown document state', wrap('', 'version="1" state="delta"'), REGINFO],
    ['a registration without aor', wrap('<registration id="r" state="active"/>'), REGINFO],
    ['a registration state outside init/active/terminated', wrap('<registration aor="sip:a@b" id="r" state="on"/>'), REGINFO],
    [
      'a contact without uri',
      wrap('<registration aor="sip:a@b" id="r" state="active"><contact id="c" state="active" event="created"/></registration>'),
      REGINFO,
    ],
    [
      'a contact state outside active/terminated',
      wrap(
        '<registration aor="sip:a@b" id="r" state="active"><contact id="c" state="gone" event="created"><uri>sip:a@h</uri></contact></registration>',
      ),
      REGINFO,
    ],
    ['truncated XML', Buffer.from('<reginfo xmlns="urn:ietf:params:xml:ns:reginfo" version="0" state="full"><registration'), REGINFO],
  ];
  it.each(cases)('refuses %s', (_what, body, contentType) => {
    expect(codeOf(() => parseReginfo(body, contentType))).toBe('REGINFO_INVALID');
  });

  it('bounds size, depth and contact count', () => {
    expect(codeOf(() => parseReginfo(Buffer.alloc(70 * 1024, 0x20), REGINFO))).toBe('REGINFO_INVALID');
    const deep = wrap('<x:a xmlns:x="urn:x">'.repeat(20) + '</x:a>'.repeat(20));
    expect(codeOf(() => parseReginfo(deep, REGINFO))).toBe('REGINFO_INVALID');
    const contact = (i: number) => `<contact id="c${i}" state="active" event="created"><uri>sip:a@h${i}</uri></contact>`;
    const many = wrap(
      `<registration aor="sip:a@b" id="r" state="active">${Array.from({ length: 10 }, (_, i) => contact(i)).join('')}</registration>`,
    );
    expect(codeOf(() => parseReginfo(many, REGINFO, { maxContacts: 9 }))).toBe('REGINFO_INVALID');
    expect(codeOf(() => parseReginfo(many, REGINFO, { maxContacts: 10 }))).toBeUndefined();
  });
});

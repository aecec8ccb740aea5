/**
 * fast-check arbitraries for PAP intake fuzzing, shared by the suite (test/unit/intake-fuzz.test.ts,
 * test/integration/bad-input-http.test.ts) and the long run (scripts/fuzz-long.ts): content types,
 * random bytes, PAP/XML/MIME fragment soup, and a valid push-message mutated (cut, bytes flipped,
 * spliced) so the input reaches deep into the multipart and PAP parsers.
 */
import fc from 'fast-check';
import { buildMultipartRelated } from '../../src/push/pap/multipart.js';

const CONTROL = (pushId: string, extra = '') =>
  '<?xml version="1.0"?>\n<!DOCTYPE pap PUBLIC "-//WAPFORUM//DTD PAP 2.0//EN" "http://www.wapforum.org/DTD/pap_2.0.dtd">\n' +
  `<pap><push-message push-id="${pushId}"${extra}><address address-value="WAPPUSH=sip%3Afuzz%40127.0.0.1/TYPE=USER"/></push-message></pap>`;

/** A well-formed PAP 2.0 push (multipart/related) to mutate. */
export function validPush(pushId: string): { contentType: string; body: Buffer } {
  return buildMultipartRelated([
    { headers: { 'Content-Type': 'application/xml' }, body: Buffer.from(CONTROL(pushId)) },
    { headers: { 'Content-Type': 'text/plain', 'X-Wap-Application-Id': 'x-wap-application:wml.ua' }, body: Buffer.from('hello') },
  ]);
}

export const contentTypes = fc.oneof(
  fc.constantFrom(
    'application/xml',
    'text/xml',
    'multipart/related',
    'multipart/related; boundary=',
    'multipart/related; boundary=""',
    'multipart/related; boundary=m; type="application/xml"',
    'multipart/related; boundary="m"; start=x',
    'multipart/mixed; boundary=m',
    'application/json',
    'text/plain; charset=utf-16',
    '',
  ),
  fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz/;=" -+.0123456789'.split('')), maxLength: 60 }),
);

export const randomBytes = (maxLength = 2000) => fc.uint8Array({ maxLength }).map((a) => Buffer.from(a));

export const papSoup = fc
  .array(
    fc.constantFrom(
      '<?xml version="1.0"?>',
      '<?xml version="1.0" encoding="UTF-16"?>',
      '<!DOCTYPE pap PUBLIC "-//WAPFORUM//DTD PAP 2.0//EN" "x">',
      '<!DOCTYPE pap [',
      ']>',
      '<!ENTITY a "b">',
      '<!ENTITY % p SYSTEM "file:///etc/passwd">',
      '<!ENTITY x SYSTEM "http://127.0.0.1:1/">',
      '<?wap-pap-ver supported-versions="2.0,1.*"?>',
      '<pap>',
      '</pap>',
      '<push-message push-id="p">',
      '</push-message>',
      '<address address-value="WAPPUSH=a/TYPE=USER"/>',
      '<address address-value="WAPPUSH=%ZZ/TYPE=PLMN"/>',
      '<quality-of-service bearer="SMS" bearer-required="true"/>',
      '<cancel-message push-id="c"/>',
      '<statusquery-message push-id="s"/>',
      '<ccq-message/>',
      '&amp;',
      '&#0;',
      '&#x110000;',
      '&x;',
      '"',
      '<',
      '>',
      '\r\n',
      '--m',
      '--m--',
      'Content-Type: application/xml',
      'Content-Type: text/plain',
      ' ',
      '\u0000',
      '\uFFFF',
      'deliver-before-timestamp="2001-13-45T99:99:99Z"',
    ),
    { maxLength: 60 },
  )
  .map((parts) => Buffer.from(parts.join('')));

/** The valid push, then damaged: cut short, bytes overwritten, a slice spliced in elsewhere. */
export const mutatedPush = fc
  .record({
    pushId: fc.string({ minLength: 1, maxLength: 30 }).map((s) => s.replace(/["<&]/g, '_')),
    cut: fc.option(fc.nat(), { nil: undefined }),
    flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
    splice: fc.option(fc.tuple(fc.nat(), fc.nat(), fc.nat()), { nil: undefined }),
    keepType: fc.boolean(),
  })
  .map(({ pushId, cut, flips, splice, keepType }) => {
    const push = validPush(pushId);
    let body = Buffer.from(push.body);
    for (const [at, value] of flips) if (body.length > 0) body[at % body.length] = value;
    if (splice && body.length > 0) {
      const [from, len, to] = splice;
      const piece = body.subarray(from % body.length, (from % body.length) + (len % 64));
      const at = to % body.length;
      body = Buffer.concat([body.subarray(0, at), piece, body.subarray(at)]);
    }
    if (cut !== undefined && body.length > 0) body = body.subarray(0, cut % body.length);
    return { contentType: keepType ? push.contentType : 'multipart/related; boundary=m', body };
  });

/** One intake request: a content type and a body from any of the generators above. */
export const intakeRequest = fc.oneof(
  { arbitrary: mutatedPush, weight: 3 },
  { arbitrary: fc.record({ contentType: contentTypes, body: fc.oneof(randomBytes(), papSoup) }), weight: 2 },
);

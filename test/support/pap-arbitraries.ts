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

const damage = fc.record({
  cut: fc.option(fc.nat(), { nil: undefined }),
  flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
  splice: fc.option(fc.tuple(fc.nat(), fc.nat(), fc.nat()), { nil: undefined }),
});

/** `body` damaged: cut short, bytes overwritten, a slice spliced in elsewhere. */
function applyDamage(original: Buffer, { cut, flips, splice }: typeof damage extends fc.Arbitrary<infer D> ? D : never): Buffer {
  let body = Buffer.from(original);
  for (const [at, value] of flips) if (body.length > 0) body[at % body.length] = value;
  if (splice && body.length > 0) {
    const [from, len, to] = splice;
    const piece = body.subarray(from % body.length, (from % body.length) + (len % 64));
    const at = to % body.length;
    body = Buffer.concat([body.subarray(0, at), piece, body.subarray(at)]);
  }
  if (cut !== undefined && body.length > 0) body = body.subarray(0, cut % body.length);
  return body;
}

/** Damage in XML's own characters (mostly), so it reaches the markup rather than the charset check. */
const markupDamage = fc.record({
  cut: fc.option(fc.nat(), { nil: undefined, freq: 3 }),
  flips: fc.array(
    fc.tuple(
      fc.nat(),
      fc.oneof(fc.constantFrom(...[...'<>/"\'=&;!?-[] #x'].map((c) => c.charCodeAt(0))), fc.integer({ min: 0x20, max: 0x7e })),
    ),
    { maxLength: 3 },
  ),
  splice: fc.option(fc.tuple(fc.nat(), fc.nat(), fc.nat()), { nil: undefined, freq: 3 }),
});

/** Bodies from `arbitrary` as they are (a third) or damaged in their markup (cut, characters overwritten, a slice spliced in). */
export const damaged = (arbitrary: fc.Arbitrary<Buffer>) => {
  const broken = fc.tuple(arbitrary, markupDamage).map(([body, d]) => applyDamage(body, d));
  return fc.oneof(arbitrary, broken, broken);
};

/** The valid push, then damaged: cut short, bytes overwritten, a slice spliced in elsewhere. */
export const mutatedPush = fc
  .record({
    pushId: fc.string({ minLength: 1, maxLength: 30 }).map((s) => s.replace(/["<&]/g, '_')),
    damage,
    keepType: fc.boolean(),
  })
  .map(({ pushId, damage: d, keepType }) => {
    const push = validPush(pushId);
    return { contentType: keepType ? push.contentType : 'multipart/related; boundary=m', body: applyDamage(push.body, d) };
  });

/** One intake request: a content type and a body from any of the generators above. */
export const intakeRequest = fc.oneof(
  { arbitrary: mutatedPush, weight: 3 },
  { arbitrary: fc.record({ contentType: contentTypes, body: fc.oneof(randomBytes(), papSoup) }), weight: 2 },
);

/** An attribute value written in one of the ways XML allows: plain, escaped, character references. */
function writeAttributeValue(value: string, style: number): string {
  const escapes: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };
  return [...value]
    .map((ch) => {
      const code = ch.codePointAt(0) as number;
      if (style === 1 && /[A-Za-z0-9]/.test(ch)) return `&#${code};`;
      if (style === 2 && /[A-Za-z0-9]/.test(ch)) return `&#x${code.toString(16)};`;
      if (ch === '\t' || ch === '\n' || ch === '\r') return `&#${code};`;
      return escapes[ch] ?? ch;
    })
    .join('');
}

const attrText = fc.string({
  unit: fc.oneof(
    { arbitrary: fc.constantFrom(...'abcXYZ019-_.:/@%=+ '.split('')), weight: 8 },
    { arbitrary: fc.constantFrom('&', '<', '>', '"', "'", '\t', '\n', 'é', '😀', 'Ω'), weight: 1 },
  ),
  maxLength: 24,
});
const space = fc.constantFrom(' ', '  ', '\n      ', '\t', '\r\n ');
const between = fc.constantFrom(
  '',
  '\n  ',
  '<!-- note -->',
  '<?pi data?>',
  '\n<!-- a\n b -->\n',
  ' <![CDATA[ x < y ]]> ',
  ' some text &amp; more ',
);

const attribute = (name: string, value: fc.Arbitrary<string>) =>
  fc
    .record({ value, style: fc.integer({ min: 0, max: 2 }), quote: fc.constantFrom('"', "'"), eq: fc.constantFrom('=', ' = ', '\n=\t') })
    .map(({ value: v, style, quote, eq }) => {
      const written = writeAttributeValue(v, style);
      return ` ${name}${eq}${quote}${written}${quote}`;
    });
const optionalAttribute = (name: string, value: fc.Arbitrary<string>) => fc.option(attribute(name, value), { nil: '' });

const element = (name: string, attributes: fc.Arbitrary<string>[], children: fc.Arbitrary<string[]>) =>
  fc.tuple(fc.tuple(...attributes), children, space, fc.boolean(), between).map(([attrs, kids, sp, sloppyClose, gap]) => {
    const open = `<${name}${attrs.join('')}${sp.trim() === '' && sloppyClose ? sp : ''}`;
    if (kids.length === 0 && !sloppyClose) return `${open}/>`;
    return `${open}>${gap}${kids.join(gap)}${gap}</${name}${sloppyClose ? ' ' : ''}>`;
  });

const addressElement = element('address', [attribute('address-value', attrText)], fc.constant([]));
const qosElement = element(
  'quality-of-service',
  [
    optionalAttribute('priority', fc.constantFrom('high', 'low', 'MEDIUM')),
    optionalAttribute('bearer', fc.constantFrom('SMS', 'Packet Data')),
    optionalAttribute('bearer-required', fc.constantFrom('true', 'false')),
  ],
  fc.constant([]),
);

/** The prolog: nothing, an XML declaration, a DOCTYPE of some version, a wap-pap-ver PI, comments. */
const prolog = fc
  .record({
    decl: fc.constantFrom('', '<?xml version="1.0"?>\n', "<?xml version='1.0' encoding='UTF-8'?>"),
    doctype: fc.constantFrom(
      '',
      '<!DOCTYPE pap PUBLIC "-//WAPFORUM//DTD PAP 1.0//EN" "http://www.wapforum.org/DTD/pap_1.0.dtd">\n',
      '<!DOCTYPE pap PUBLIC "-//WAPFORUM//DTD PAP 2.0//EN" "http://www.wapforum.org/DTD/pap_2.0.dtd">\n',
      '<!DOCTYPE pap PUBLIC "-//WAPFORUM//DTD PAP 2.1//EN" "http://www.openmobilealliance.org/tech/DTD/pap_2.1.dtd">',
      '<!DOCTYPE pap [ <?wap-pap-ver supported-versions="2.0,1.*"?> ]>\n',
    ),
    extra: fc.constantFrom('', '<!-- from the PI -->\n', '<?wap-pap-ver supported-versions="1.*"?>\n'),
  })
  .map(({ decl, doctype, extra }) => decl + extra + doctype);

/**
 * A well-formed PAP control entity (push-message, cancel-message or statusquery-message) written in the
 * many ways XML allows — quotes, spacing, references, comments, PIs, CDATA, empty or explicit end tags —
 * for comparing two readers of the same document.
 */
export const validControlEntity = fc
  .tuple(
    prolog,
    fc.oneof(
      element(
        'push-message',
        [
          attribute('push-id', attrText),
          optionalAttribute('deliver-before-timestamp', fc.constant('2099-01-01T00:00:00Z')),
          optionalAttribute('source-reference', attrText),
          optionalAttribute('ppg-notify-requested-to', fc.constant('http://127.0.0.1:9/n?a=1&b=2')),
          optionalAttribute('progress-notes-requested', fc.constantFrom('true', 'FALSE')),
          optionalAttribute('xmlns:x', fc.constant('urn:x')),
        ],
        fc
          .tuple(fc.array(addressElement, { minLength: 1, maxLength: 3 }), fc.option(qosElement, { nil: undefined }))
          .map(([a, q]) => (q ? [...a, q] : a)),
      ),
      element('cancel-message', [attribute('push-id', attrText)], fc.array(addressElement, { maxLength: 2 })),
      element('statusquery-message', [attribute('push-id', attrText)], fc.array(addressElement, { maxLength: 2 })),
    ),
    between,
    fc.constantFrom('', '\n', '\n<!-- trailing -->\n', '<?after?>'),
  )
  .map(([head, message, gap, tail]) => Buffer.from(`${head}<pap>${gap}${message}${gap}</pap>${tail}`));

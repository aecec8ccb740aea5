/**
 * Property tests: the PAP/multipart/address parsers throw nothing but AgentError on arbitrary input, and
 * multipart and hand-back build → parse round-trips keep arbitrary binary bodies byte-exact.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AgentError } from '../../src/errors.js';
import { parsePapAddress } from '../../src/push/address.js';
import { buildMultipartRelated, parseMultipartRelated } from '../../src/push/pap/multipart.js';
import { buildHandBackPush } from '../../src/push/pap/pap-builder.js';
import { parsePapRequest } from '../../src/push/pap/pap-parser.js';
import { parsePapResponse } from '../../src/push/pap/pap-response-parser.js';
import type { PushSubmission } from '../../src/push/pap/pap-types.js';

function onlyAgentErrors(fn: () => unknown): boolean {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof AgentError)) throw err;
  }
  return true;
}

const bytes = fc.uint8Array({ maxLength: 600 }).map((a) => Buffer.from(a));
/** Text made of PAP/XML/MIME fragments, so random input reaches deep into the parsers. */
const papish = fc
  .array(
    fc.constantFrom(
      '<?xml version="1.0"?>',
      '<!DOCTYPE pap PUBLIC "-//WAPFORUM//DTD PAP 2.0//EN" "x">',
      '<!DOCTYPE pap [',
      ']>',
      '<!ENTITY a "b">',
      '<?wap-pap-ver supported-versions="2.0,1.*"?>',
      '<pap>',
      '</pap>',
      '<push-message push-id="p">',
      '</push-message>',
      '<address address-value="WAPPUSH=a/TYPE=USER"/>',
      '<quality-of-service bearer="SMS" priority="x"/>',
      '<cancel-message push-id="c"/>',
      '<statusquery-message/>',
      '&amp;',
      '&#0;',
      '&x;',
      '"',
      '<',
      '>',
      '\r\n',
      '--m',
      '--m--',
      'Content-Type: application/xml',
      ' ',
      '\u0000',
      '\uFFFF',
    ),
    { maxLength: 40 },
  )
  .map((parts) => Buffer.from(parts.join('')));

describe('parsers never throw anything but AgentError', () => {
  it('parsePapRequest on random bytes and PAP-like fragments (xml and multipart)', () => {
    fc.assert(
      fc.property(
        fc.oneof(bytes, papish),
        fc.constantFrom('application/xml', 'multipart/related; boundary=m', 'multipart/related; boundary="m"; start=x'),
        (body, ct) => onlyAgentErrors(() => parsePapRequest(ct, body)),
      ),
      { numRuns: 400 },
    );
  });

  it('parseMultipartRelated and parsePapResponse on random bytes', () => {
    fc.assert(
      fc.property(fc.oneof(bytes, papish), (body) => {
        onlyAgentErrors(() => parseMultipartRelated('multipart/related; boundary=m', body));
        return onlyAgentErrors(() => parsePapResponse(body));
      }),
      { numRuns: 300 },
    );
  });

  it('parsePapAddress on random strings', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.string().map((s) => `WAPPUSH=${s}/TYPE=USER`),
        ),
        (s) => onlyAgentErrors(() => parsePapAddress(s)),
      ),
      { numRuns: 300 },
    );
  });
});

describe('round trips', () => {
  it('multipart build → parse keeps arbitrary binary bodies and header values', () => {
    const part = fc.record({
      body: bytes,
      type: fc.constantFrom('application/vnd.wap.sic', 'text/plain; charset=utf-8', 'application/octet-stream'),
    });
    fc.assert(
      fc.property(fc.array(part, { minLength: 1, maxLength: 5 }), (parts) => {
        const built = buildMultipartRelated(parts.map((p) => ({ headers: { 'content-type': p.type }, body: p.body })));
        const parsed = parseMultipartRelated(built.contentType, built.body);
        expect(parsed.parts).toHaveLength(parts.length);
        parsed.parts.forEach((p, i) => {
          expect(p.body.equals(parts[i].body)).toBe(true);
          expect(p.headers['content-type']).toBe(parts[i].type);
        });
      }),
      { numRuns: 300 },
    );
  });

  it('hand-back push → parsePapRequest keeps content byte-exact and attribute text exact', () => {
    const attrText = fc.string({ minLength: 1, maxLength: 40 }).filter((s) => s.trim() === s && /^[\u0020-\uD7FF]+$/.test(s));
    fc.assert(
      fc.property(bytes, attrText, attrText, (body, pushId, sourceReference) => {
        const push: PushSubmission = {
          pushId,
          papVersion: '2.0',
          addresses: ['WAPPUSH=alice/TYPE=USER'],
          qos: { bearerRequired: false, networkRequired: false },
          progressNotesRequested: false,
          sourceReference,
          content: { contentType: 'application/vnd.wap.slc', headers: { 'content-type': 'application/vnd.wap.slc' }, body },
        };
        const handBack = buildHandBackPush(push, { bearerHint: 'SMS', address: 'WAPPUSH=alice/TYPE=USER', papVersion: '2.0' });
        const request = parsePapRequest(handBack.contentType, handBack.body);
        if (request.kind !== 'push') throw new Error('not a push');
        expect(request.push.pushId).toBe(pushId);
        expect(request.push.sourceReference).toBe(sourceReference);
        expect(request.push.content.body.equals(body)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });
});

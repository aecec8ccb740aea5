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
import { papSoup, randomBytes } from '../support/pap-arbitraries.js';

function onlyAgentErrors(fn: () => unknown): boolean {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof AgentError)) throw err;
  }
  return true;
}

const bytes = randomBytes(600);
// papSoup: text made of PAP/XML/MIME fragments, so random input reaches deep into the parsers.

describe('parsers never throw anything but AgentError', () => {
  it('parsePapRequest on random bytes and PAP-like fragments (xml and multipart)', () => {
    fc.assert(
      fc.property(
        fc.oneof(bytes, papSoup),
        fc.constantFrom('application/xml', 'multipart/related; boundary=m', 'multipart/related; boundary="m"; start=x'),
        (body, ct) => onlyAgentErrors(() => parsePapRequest(ct, body)),
      ),
      { numRuns: 400 },
    );
  });

  it('parseMultipartRelated and parsePapResponse on random bytes', () => {
    fc.assert(
      fc.property(fc.oneof(bytes, papSoup), (body) => {
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

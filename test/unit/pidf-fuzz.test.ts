import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AgentError } from '../../src/errors.js';
import { parsePresence } from '../../src/presence/pidf-parser.js';

/** The parser's contract: it returns a snapshot or throws AgentError PIDF_INVALID — nothing else. */
function onlyAgentErrors(body: Buffer, contentType?: string): boolean {
  try {
    const snapshot = parsePresence(body, contentType, { maxDepth: 16 });
    return snapshot.kind === 'empty' || snapshot.kind === 'document';
  } catch (err) {
    return err instanceof AgentError && err.code === 'PIDF_INVALID';
  }
}

const pieces = [
  '<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@b">',
  '</presence>',
  '<tuple id="t">',
  '</tuple>',
  '<status><basic>open</basic></status>',
  '<basic>closed</basic>',
  '<op:service-description xmlns:op="urn:oma:xml:prs:pidf:oma-pres"><op:service-id>x</op:service-id></op:service-description>',
  '<c:servcaps xmlns:c="urn:ietf:params:xml:ns:pidf:caps"><c:methods><c:notsupported><c:MESSAGE/></c:notsupported></c:methods></c:servcaps>',
  '<pdm:person xmlns:pdm="urn:ietf:params:xml:ns:pidf:data-model" id="p">',
  '</pdm:person>',
  '<x:y>',
  '&amp;',
  '&#0;',
  '&#x110000;',
  '&bogus;',
  '<![CDATA[ <]]>',
  '<!-- c -->',
  '<?pi x?>',
  '<!DOCTYPE x>',
  '<contact priority="0.5">sip:a@b</contact>',
  '"',
  '<',
  '>',
  '/>',
  'xmlns:q=""',
  '<__proto__>',
  '<constructor/>',
];

describe('parsePresence never throws anything but AgentError', () => {
  it('on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => onlyAgentErrors(Buffer.from(bytes))),
      { numRuns: 300 },
    );
  });

  it('on arbitrary strings and content types', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300, unit: 'grapheme' }), fc.option(fc.string({ maxLength: 40 })), (text, ct) =>
        onlyAgentErrors(Buffer.from(text), ct ?? undefined),
      ),
      { numRuns: 300 },
    );
  });

  it('on XML-shaped sequences of PIDF fragments', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...pieces), { maxLength: 40 }), (parts) =>
        onlyAgentErrors(Buffer.from(parts.join('')), 'application/pidf+xml'),
      ),
      { numRuns: 400 },
    );
  });

  it('the generated sample set contains both successes and refusals (the property is not vacuous)', () => {
    const kinds = new Set<string>();
    for (const parts of fc.sample(fc.array(fc.constantFrom(...pieces), { maxLength: 12 }), { numRuns: 500, seed: 7 })) {
      try {
        kinds.add(parsePresence(Buffer.from([pieces[0], ...parts, pieces[1]].join(''))).kind);
      } catch (err) {
        kinds.add((err as AgentError).code);
      }
    }
    expect(kinds).toEqual(new Set(['document', 'PIDF_INVALID']));
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AgentError } from '../../src/errors.js';
import { parseReginfo } from '../../src/registration/reginfo-parser.js';
import { applyReginfo, type RegistrationView } from '../../src/registration/registration-sequence.js';

/** The parser's contract: a snapshot or AgentError REGINFO_INVALID — nothing else, whatever the bytes. */
function onlyAgentErrors(body: Buffer, contentType?: string): boolean {
  try {
    const snapshot = parseReginfo(body, contentType, { maxDepth: 12 });
    return snapshot.kind === 'empty' || snapshot.kind === 'document';
  } catch (err) {
    return err instanceof AgentError && err.code === 'REGINFO_INVALID';
  }
}

const OPEN = '<reginfo xmlns="urn:ietf:params:xml:ns:reginfo" version="0" state="full">';
const pieces = [
  OPEN,
  '</reginfo>',
  '<registration aor="sip:a@b" id="r1" state="active">',
  '<registration aor="sip:a@b" id="r2" state="terminated">',
  '</registration>',
  '<contact id="c1" state="active" event="created" expires="60">',
  '<contact id="c2" state="terminated" event="expired">',
  '</contact>',
  '<uri>sip:a@h</uri>',
  '<unknown-param name="+g.oma.pusheventapp">"ua-wml"</unknown-param>',
  '<unknown-param name="__proto__">x</unknown-param>',
  '<unknown-param/>',
  '<display-name>A</display-name>',
  '<x:gruu xmlns:x="urn:ietf:params:xml:ns:gruuinfo"/>',
  '&amp;',
  '&#0;',
  '&bogus;',
  '<![CDATA[ <]]>',
  '<!-- c -->',
  '<!DOCTYPE x>',
  '"',
  '<',
  '>',
  '/>',
];

describe('parseReginfo never throws anything but AgentError', () => {
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

  it('on XML-shaped sequences of reginfo fragments', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...pieces), { maxLength: 40 }), (parts) =>
        onlyAgentErrors(Buffer.from(parts.join('')), 'application/reginfo+xml'),
      ),
      { numRuns: 400 },
    );
  });

  it('the generated sample set contains both documents and refusals (the property is not vacuous)', () => {
    const kinds = new Set<string>();
    for (const parts of fc.sample(fc.array(fc.constantFrom(...pieces.slice(2)), { maxLength: 12 }), { numRuns: 500, seed: 7 })) {
      try {
        kinds.add(parseReginfo(Buffer.from([OPEN, ...parts, '</reginfo>'].join(''))).kind);
      } catch (err) {
        kinds.add((err as AgentError).code);
      }
    }
    expect(kinds).toEqual(new Set(['document', 'REGINFO_INVALID']));
  });
});

describe('applyReginfo over random NOTIFY sequences', () => {
  it('never applies a partial out of order and never moves to an older CSeq', () => {
    const notify = fc.record({ version: fc.nat(6), full: fc.boolean(), cseq: fc.option(fc.nat(10), { nil: undefined }) });
    fc.assert(
      fc.property(fc.array(notify, { maxLength: 20 }), (steps) => {
        let view: RegistrationView | undefined;
        for (const s of steps) {
          const before = view;
          const out = applyReginfo(
            view,
            { kind: 'document', version: s.version, state: s.full ? 'full' : 'partial', registrations: [], warnings: [], receivedAt: 0 },
            s.cseq,
          );
          if (out.kind === 'applied') {
            if (!s.full && before?.version !== s.version - 1) return false;
            if (before?.cseq !== undefined && s.cseq !== undefined && s.cseq <= before.cseq) return false;
            view = out.view;
          } else if (out.kind === 'gap') {
            view = undefined; // the caller drops the state and refreshes
          }
        }
        return true;
      }),
      { numRuns: 300 },
    );
  });
});

import fc from 'fast-check';
import { describe, it } from 'vitest';
import { parseReginfo } from '../../src/registration/reginfo-parser.js';
import { applyReginfo, type RegistrationView } from '../../src/registration/registration-sequence.js';
import { describeXmlParserFuzz } from '../support/xml-parser-fuzz.js';

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

describeXmlParserFuzz({
  name: 'parseReginfo',
  parse: parseReginfo,
  code: 'REGINFO_INVALID',
  contentType: 'application/reginfo+xml',
  maxDepth: 12,
  pieces,
  open: OPEN,
  close: '</reginfo>',
  inner: pieces.slice(2),
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

/**
 * The fuzz contract shared by the XML body parsers (PIDF, reginfo): whatever the bytes, a parser returns
 * a snapshot or throws `AgentError` with its one code — nothing else. One `describe` block checks it on
 * arbitrary bytes, on arbitrary strings with arbitrary content types, on sequences of the parser's own
 * fragments, and shows the fragments really produce both documents and refusals (so the property is not
 * vacuous).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AgentError } from '../../src/errors.js';

export interface XmlParserFuzz {
  /** The parser's name, for the describe title. */
  name: string;
  parse(body: Buffer, contentType?: string, options?: { maxDepth?: number }): { kind: string };
  /** The one error code it may throw. */
  code: string;
  /** The content type it is given for the fragment sequences. */
  contentType: string;
  /** Nesting limit for the properties (a small one reaches the depth refusal often). */
  maxDepth: number;
  /** Fragments of its documents and of broken XML. */
  pieces: readonly string[];
  /** The sample for "not vacuous": fragments drawn from `inner`, wrapped in `open` … `close`. */
  open: string;
  close: string;
  inner: readonly string[];
}

export function describeXmlParserFuzz(p: XmlParserFuzz): void {
  const onlyAgentErrors = (body: Buffer, contentType?: string): boolean => {
    try {
      const snapshot = p.parse(body, contentType, { maxDepth: p.maxDepth });
      return snapshot.kind === 'empty' || snapshot.kind === 'document';
    } catch (err) {
      return err instanceof AgentError && err.code === p.code;
    }
  };

  describe(`${p.name} never throws anything but AgentError ${p.code}`, () => {
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

    it('on XML-shaped sequences of its fragments', () => {
      fc.assert(
        fc.property(fc.array(fc.constantFrom(...p.pieces), { maxLength: 40 }), (parts) =>
          onlyAgentErrors(Buffer.from(parts.join('')), p.contentType),
        ),
        { numRuns: 400 },
      );
    });

    it('the generated sample set contains both documents and refusals (the property is not vacuous)', () => {
      const kinds = new Set<string>();
      for (const parts of fc.sample(fc.array(fc.constantFrom(...p.inner), { maxLength: 12 }), { numRuns: 500, seed: 7 })) {
        try {
          kinds.add(p.parse(Buffer.from([p.open, ...parts, p.close].join(''))).kind);
        } catch (err) {
          kinds.add((err as AgentError).code);
        }
      }
      expect(kinds).toEqual(new Set(['document', p.code]));
    });
  });
}

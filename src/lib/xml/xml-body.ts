/**
 * The hardened prologue every XML NOTIFY body goes through before its own reader (PIDF, reginfo): the
 * body comes from the network, so
 * - its size is bounded before it is decoded;
 * - it is decoded as UTF-8, or UTF-16 when a byte-order mark says so (RFC 3023 §3.2, RFC 3863 §7);
 * - an empty (or whitespace-only) body is not a document: it is reported as empty (RFC 6665 "no state");
 * - a Content-Type, when present, must be one of the reader's media types;
 * - any `<!DOCTYPE` or `<!ENTITY` is refused before parsing (no external entities, no entity expansion);
 * - element nesting is bounded while the tree is built.
 * Every refusal goes through the caller's `invalid` so each format keeps its own error code.
 */
import { buildElementTree, XmlTreeError, type XmlElement } from './xml-element-tree.js';

export interface XmlBodyRules {
  /** What the body is, for messages: `presence`, `reginfo`. */
  what: string;
  /** The document's name in a Content-Type refusal: `a PIDF document`. */
  documentName: string;
  /** The media type the refusal names as expected. */
  expectedType: string;
  mediaTypes: ReadonlySet<string>;
  maxBytes: number;
  maxDepth: number;
  /** Builds the caller's error (e.g. an AgentError with its own code). */
  invalid: (message: string, cause?: unknown) => Error;
}

/** The root element of `body`, or undefined when the body is empty. Throws only what `rules.invalid` builds. */
export function readXmlBody(body: Buffer, contentType: string | undefined, rules: XmlBodyRules): XmlElement | undefined {
  const { what, invalid } = rules;
  if (body.length > rules.maxBytes) throw invalid(`${what} body is ${body.length} bytes, above the ${rules.maxBytes}-byte limit`);
  const text = decodeXmlBody(body);
  if (text.trim() === '') return undefined;
  if (contentType !== undefined && contentType.trim() !== '') {
    const media = contentType.split(';')[0].trim().toLowerCase();
    if (!rules.mediaTypes.has(media)) {
      throw invalid(`Content-Type '${media.slice(0, 60)}' is not ${rules.documentName} (expected ${rules.expectedType})`);
    }
  }
  if (/<!DOCTYPE/i.test(text)) throw invalid(`${what} body has a <!DOCTYPE>: refused (no DTDs, no external entities)`);
  if (/<!ENTITY/i.test(text)) throw invalid(`${what} body declares an <!ENTITY>: refused (no entity expansion)`);
  try {
    return buildElementTree(text, rules.maxDepth);
  } catch (err) {
    if (err instanceof XmlTreeError) throw invalid(`${what} body: ${err.message}`, err);
    throw invalid(`${what} body could not be parsed: ${String((err as Error)?.message ?? err)}`, err);
  }
}

/** UTF-8 unless a UTF-16 byte-order mark says otherwise; a leading BOM is dropped. */
export function decodeXmlBody(body: Buffer): string {
  if (body.length >= 2 && body[0] === 0xff && body[1] === 0xfe) return body.subarray(2).toString('utf16le');
  if (body.length >= 2 && body[0] === 0xfe && body[1] === 0xff) {
    const swapped = Buffer.from(body.subarray(2, body.length - (body.length % 2)));
    return swapped.swap16().toString('utf16le');
  }
  const text = body.toString('utf8');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

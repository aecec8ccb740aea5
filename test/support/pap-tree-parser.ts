/**
 * The reference the one-pass control-entity reader (src/push/pap/xml-scanner.ts) is checked against:
 * the reader as it was before, in three passes — fast-xml-parser's validator for well-formedness, its
 * parser (entity processing off) for a generic tree, then that tree converted to {@link PapElement}s
 * with attribute values decoded (the five predefined entities and character references, XML 1.0 §4.6).
 * test/unit/pap-one-pass.test.ts asserts both give the same result on generated control entities.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { AgentError, ErrorCodes } from '../../src/errors.js';
import { detectPapVersion } from '../../src/push/pap/pap-version.js';
import { readXmlProlog } from '../../src/push/pap/xml-prolog.js';
import { describeXmlProblem } from './xml-problem.js';

import type { PapElement } from '../../src/push/pap/xml-scanner.js';
import { DEFAULT_MAX_CONTROL_BYTES, type PapDocument } from '../../src/push/pap/pap-document.js';

function invalid(message: string, field: string): AgentError {
  return new AgentError(ErrorCodes.PAP_INVALID, message, field);
}

function decodeText(body: Buffer, charset: string | undefined): string {
  const cs = (charset ?? '').toLowerCase();
  if (body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf) body = body.subarray(3);
  if (cs === 'iso-8859-1' || cs === 'latin1' || cs === 'us-ascii' || cs === 'ascii') return body.toString('latin1');
  if (cs !== '' && cs !== 'utf-8' && cs !== 'utf8') throw invalid(`charset ${JSON.stringify(charset)} is not supported`, 'charset');
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    throw invalid('control entity is not valid UTF-8', 'charset');
  }
}

const PREDEFINED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** XML 1.0 §3.3.3 attribute-value normalisation and §4.6 predefined / character references. */
function decodeAttribute(raw: string, field: string): string {
  return raw.replace(/\r\n|[\t\n\r]/g, ' ').replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[A-Za-z_][\w.-]*);|&/g, (match, ref: string | undefined) => {
    if (ref === undefined) throw invalid(`bare '&' in attribute ${field}`, field);
    if (ref.startsWith('#')) {
      const code = ref[1] === 'x' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      if (!(code >= 0x20 || code === 0x9 || code === 0xa || code === 0xd) || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) {
        throw invalid(`invalid character reference ${match} in ${field}`, field);
      }
      return String.fromCodePoint(code);
    }
    const value = PREDEFINED[ref];
    if (value === undefined) throw invalid(`undeclared entity ${match} in ${field} (entities are never expanded)`, field);
    return value;
  });
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '',
  preserveOrder: true,
  parseAttributeValue: false,
  parseTagValue: false,
  processEntities: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  trimValues: true,
});

type OrderedNode = Record<string, unknown>;

function toElements(nodes: unknown): PapElement[] {
  const elements: PapElement[] = [];
  for (const node of Array.isArray(nodes) ? (nodes as OrderedNode[]) : []) {
    const name = Object.keys(node).find((key) => key !== ':@' && key !== '#text' && !key.startsWith('?') && key !== '#comment');
    if (name === undefined) continue;
    const rawAttributes = (node[':@'] ?? {}) as Record<string, unknown>;
    const attributes: Record<string, string> = {};
    for (const [attr, value] of Object.entries(rawAttributes)) {
      if (attr === '__proto__') throw invalid('attribute name __proto__ is refused', name);
      attributes[attr] = decodeAttribute(String(value), `${name}@${attr}`);
    }
    elements.push({ name, attributes, children: toElements(node[name]) });
  }
  return elements;
}

/** Parses a control entity. PAP_INVALID for anything malformed or unsafe, PAP_VERSION for a version we lack. */
export function readPapDocumentTree(body: Buffer, charset?: string, maxBytes = DEFAULT_MAX_CONTROL_BYTES): PapDocument {
  if (body.length > maxBytes) throw invalid(`control entity larger than ${maxBytes} bytes`, 'control-entity');
  const text = decodeText(body, charset);
  const prolog = readXmlProlog(text);
  const rest = text.slice(prolog.rootStart);
  if (/<!(DOCTYPE|ENTITY)/i.test(rest)) throw invalid('DOCTYPE or ENTITY after the prolog is refused', 'DOCTYPE');
  const valid = XMLValidator.validate(rest, { allowBooleanAttributes: false });
  if (valid !== true) {
    const prologLines = text.slice(0, prolog.rootStart).split('\n').length - 1;
    throw invalid(`malformed XML: ${describeXmlProblem(valid.err, prologLines)}`, 'xml');
  }
  let parsed: unknown;
  try {
    parsed = parser.parse(rest);
  } catch (err) {
    // fast-xml-parser's own limits (e.g. "Maximum nested tags exceeded") surface as plain Errors.
    throw new AgentError(ErrorCodes.PAP_INVALID, `malformed XML: ${(err as Error).message}`, 'xml', { cause: err });
  }
  const roots = toElements(parsed);
  if (roots.length !== 1) throw invalid('a control entity has exactly one root element', 'pap');
  const root = roots[0];
  if (root.name !== 'pap') throw invalid(`root element is <${root.name}>, not <pap>`, 'pap');
  if (prolog.doctype && prolog.doctype.name !== 'pap') throw invalid(`DOCTYPE names <${prolog.doctype.name}>, not <pap>`, 'DOCTYPE');
  return { root, version: detectPapVersion(prolog) };
}

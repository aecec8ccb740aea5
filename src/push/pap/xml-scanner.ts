/**
 * One pass over the element part of a PAP control entity (everything from the root element's `<` on;
 * the prolog is read by xml-prolog.ts): checks well-formedness (XML 1.0 §2.1 one root, §3 matching
 * start/end tags, §3.1 unique attributes, quoted values), decodes attribute values and builds the small
 * element tree the PAP readers use — no separate validation pass, no generic parse tree to convert.
 *
 * Hardened for untrusted input: no entity is ever expanded (only the five predefined entities and
 * character references of XML 1.0 §4.6 are decoded in attribute values, any other `&name;` there is
 * refused); `<!DOCTYPE`/`<!ENTITY` after the prolog are refused by the caller before this runs; nesting
 * depth and attributes per element are bounded; every failure is PAP_INVALID naming the problem and
 * the line (counted from the top of the whole entity). Text content is checked for well-formed
 * references and otherwise ignored (PAP control entities carry none).
 */
import { AgentError, ErrorCodes } from '../../errors.js';

/** An element of the control entity: name, decoded attributes, child elements (text is ignored). */
export interface PapElement {
  name: string;
  attributes: Record<string, string>;
  children: PapElement[];
}

export interface ScanLimits {
  /** Deepest element nesting (the root is level 1). */
  maxDepth: number;
  /** Most attributes on one element. */
  maxAttributes: number;
}

/** PAP needs 3 levels and ~12 attributes; these leave room for extensions and refuse abuse. */
export const DEFAULT_SCAN_LIMITS: ScanLimits = { maxDepth: 100, maxAttributes: 64 };

function invalid(message: string, field: string): AgentError {
  return new AgentError(ErrorCodes.PAP_INVALID, message, field);
}

function lineAt(text: string, index: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i >= 0 && i < index; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

function malformed(text: string, index: number, message: string): AgentError {
  return invalid(`malformed XML: ${message} (line ${lineAt(text, index)})`, 'xml');
}

/** XML 1.0 §2.3 NameStartChar / NameChar, the Basic Multilingual Plane part. */
const NAME_START =
  ':A-Z_a-z\\u00C0-\\u00D6\\u00D8-\\u00F6\\u00F8-\\u02FF\\u0370-\\u037D\\u037F-\\u1FFF\\u200C-\\u200D\\u2070-\\u218F\\u2C00-\\u2FEF\\u3001-\\uD7FF\\uF900-\\uFDCF\\uFDF0-\\uFFFD';
const NAME_CHAR = `${NAME_START}\\-.0-9\\u00B7\\u0300-\\u036F\\u203F-\\u2040`;
const NAME = new RegExp(`[${NAME_START}][${NAME_CHAR}]*`, 'y');

/** The name at `i`, or '' when none starts there. */
function readName(text: string, i: number): string {
  NAME.lastIndex = i;
  return NAME.exec(text)?.[0] ?? '';
}

function isSpace(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d;
}

function skipSpace(text: string, i: number): number {
  while (i < text.length && isSpace(text.charCodeAt(i))) i++;
  return i;
}

const PREDEFINED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
const REFERENCE = /&(#x[0-9a-fA-F]+|#[0-9]+|[A-Za-z_][\w.-]*);|&/g;

/** XML 1.0 §3.3.3 attribute-value normalisation and §4.6 predefined / character references. */
export function decodeAttribute(raw: string, field: string): string {
  if (!/[&\t\n\r]/.test(raw)) return raw;
  return raw.replace(/\r\n|[\t\n\r]/g, ' ').replace(REFERENCE, (match, ref: string | undefined) => {
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

/** A reference in character data must at least be well-formed (it is never expanded: text is ignored). */
const TEXT_REFERENCE = /&(?:#x[0-9a-fA-F]+|#[0-9]+|[A-Za-z_][\w.-]*);/y;

/** Character data between `from` and `to`: inside the root anything with well-formed `&`; outside only space. */
function checkText(text: string, from: number, to: number, outside: boolean): void {
  if (outside) {
    for (let i = from; i < to; i++) {
      if (!isSpace(text.charCodeAt(i))) throw malformed(text, i, 'text after the root element ends');
    }
    return;
  }
  for (let amp = text.indexOf('&', from); amp >= 0 && amp < to; amp = text.indexOf('&', amp + 1)) {
    TEXT_REFERENCE.lastIndex = amp;
    if (!TEXT_REFERENCE.test(text) || TEXT_REFERENCE.lastIndex > to) throw malformed(text, amp, "'&' that starts no reference");
  }
}

/** Reads the attributes of the start tag of `element` from `i`; returns the index of its `>` or `/>`. */
function readAttributes(text: string, i: number, element: PapElement, limits: ScanLimits): number {
  const tag = element.name;
  let count = 0;
  for (;;) {
    const start = i;
    i = skipSpace(text, i);
    const ch = text[i];
    if (ch === '>' || (ch === '/' && text[i + 1] === '>')) return i;
    if (i >= text.length) throw malformed(text, start, `the start tag <${tag}> is not closed`);
    const name = readName(text, i);
    if (name === '') throw malformed(text, i, `unexpected ${JSON.stringify(ch)} in the start tag <${tag}>`);
    if (i === start) throw malformed(text, i, `attribute '${name}' of <${tag}> is not separated by a space`);
    if (name === '__proto__') throw invalid('attribute name __proto__ is refused', tag);
    i = skipSpace(text, i + name.length);
    if (text[i] !== '=') throw malformed(text, i, `attribute '${name}' of <${tag}> has no value`);
    i = skipSpace(text, i + 1);
    const quote = text[i];
    if (quote !== '"' && quote !== "'") throw malformed(text, i, `attribute '${name}' of <${tag}> has an unquoted value`);
    const close = text.indexOf(quote, i + 1);
    if (close < 0) throw malformed(text, i, `attribute '${name}' of <${tag}> has an open quote`);
    const raw = text.slice(i + 1, close);
    // XML 1.0 §3.1 AttValue: a literal '<' is not allowed in a value.
    if (raw.includes('<')) throw malformed(text, i, `attribute '${name}' of <${tag}> contains '<'`);
    if (Object.hasOwn(element.attributes, name)) throw malformed(text, i, `attribute '${name}' is repeated on <${tag}>`);
    if (++count > limits.maxAttributes) throw invalid(`<${tag}> has more than ${limits.maxAttributes} attributes`, tag);
    // Values are trimmed before decoding, so a space written as &#32; at either end is kept.
    element.attributes[name] = decodeAttribute(raw.trim(), `${tag}@${name}`);
    i = close + 1;
  }
}

/**
 * Scans `text` from `start` (the root element's `<`) to the end; returns the root element.
 * PAP_INVALID (field `xml`, or the element/attribute) for anything not well-formed.
 */
export function scanElements(text: string, start: number, limits: ScanLimits = DEFAULT_SCAN_LIMITS): PapElement {
  const open: Array<{ element: PapElement; at: number }> = [];
  let root: PapElement | undefined;
  let rootWasEmpty = false;
  let i = start;
  for (;;) {
    const lt = text.indexOf('<', i);
    const end = lt < 0 ? text.length : lt;
    if (end > i) checkText(text, i, end, open.length === 0);
    if (lt < 0) break;
    i = lt;
    const next = text[i + 1];
    if (next === '!') {
      if (text.startsWith('<!--', i)) {
        const close = text.indexOf('-->', i + 4);
        if (close < 0) throw malformed(text, i, 'unterminated comment');
        i = close + 3;
      } else if (text.startsWith('<![CDATA[', i) && open.length > 0) {
        const close = text.indexOf(']]>', i + 9);
        if (close < 0) throw malformed(text, i, 'unterminated CDATA section');
        i = close + 3;
      } else {
        throw malformed(text, i, 'markup declaration where an element is expected');
      }
      continue;
    }
    if (next === '?') {
      const close = text.indexOf('?>', i + 2);
      if (close < 0) throw malformed(text, i, 'unterminated processing instruction');
      // XML 1.0 §2.6: a PI starts with its target, a name, then space or the end.
      const target = readName(text, i + 2);
      const after = text.charCodeAt(i + 2 + target.length);
      if (target === '' || !(isSpace(after) || i + 2 + target.length === close)) {
        throw malformed(text, i, 'processing instruction without a target name');
      }
      if (target.toLowerCase() === 'xml') throw malformed(text, i, 'XML declaration allowed only at the start of the document');
      i = close + 2;
      continue;
    }
    if (next === '/') {
      const name = readName(text, i + 2);
      const gt = skipSpace(text, i + 2 + name.length);
      if (name === '' || text[gt] !== '>') throw malformed(text, i, `malformed end tag </${name}`);
      const top = open.pop();
      if (!top) throw malformed(text, i, `end tag </${name}> without a start tag`);
      if (top.element.name !== name) {
        throw invalid(
          `malformed XML: <${top.element.name}> opened on line ${lineAt(text, top.at)} is not closed before </${name}> (line ${lineAt(text, i)})`,
          'xml',
        );
      }
      i = gt + 1;
      continue;
    }
    const name = readName(text, i + 1);
    if (name === '') throw malformed(text, i, `'<' that starts no element`);
    if (root !== undefined && open.length === 0) {
      // Worded as before: a closed root then another element is malformed XML; a second element after an
      // empty root (`<pap/><pap/>`) is a document with two roots.
      if (rootWasEmpty) throw invalid('a control entity has exactly one root element', 'pap');
      throw invalid(`malformed XML: more than one root element (a second one on line ${lineAt(text, i)})`, 'xml');
    }
    if (open.length >= limits.maxDepth) throw invalid(`malformed XML: elements nested deeper than ${limits.maxDepth} levels`, 'xml');
    const element: PapElement = { name, attributes: {}, children: [] };
    const tagEnd = readAttributes(text, i + 1 + name.length, element, limits);
    if (root === undefined) {
      root = element;
      rootWasEmpty = text[tagEnd] === '/';
    } else (open.at(-1) as { element: PapElement }).element.children.push(element);
    if (text[tagEnd] === '>') {
      open.push({ element, at: i });
      i = tagEnd + 1;
    } else {
      i = tagEnd + 2;
    }
  }
  if (root === undefined) throw invalid('malformed XML: no element found: the control entity must be a <pap> document', 'xml');
  if (open.length === 1) {
    const { element, at } = open[0] as { element: PapElement; at: number };
    throw invalid(`malformed XML: the document ends before <${element.name}> (line ${lineAt(text, at)}) is closed (truncated?)`, 'xml');
  }
  if (open.length > 1) {
    const names = open.map((o) => `<${o.element.name}>`).join(', ');
    throw invalid(`malformed XML: the document ends before ${names} are closed (truncated?)`, 'xml');
  }
  return root;
}

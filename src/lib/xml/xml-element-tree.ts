/**
 * A small namespace-resolved element tree on top of fast-xml-parser (pure, no I/O).
 *
 * fast-xml-parser keeps prefixes as written (`op:service-id`); vendors bind the same namespace to any
 * prefix, so this module resolves every element to `{ ns, local }` (Namespaces in XML 1.0 §6) and the
 * PIDF reader matches on namespace URIs only. It also decodes character and predefined entity
 * references itself: entity processing in the parser is off, and a DOCTYPE never reaches it.
 *
 * Errors are plain `XmlTreeError`s; the PIDF parser wraps them into `AgentError('PIDF_INVALID')`.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';

/** The XML namespace (`xml:lang` etc.), bound without declaration (Namespaces in XML §3). */
export const XML_NS = 'http://www.w3.org/XML/1998/namespace';

export interface XmlElement {
  /** Namespace URI ('' when none). */
  ns: string;
  local: string;
  /** Attributes without a prefix, plus `{ns}local` keys for prefixed ones; xmlns declarations dropped. */
  attrs: Record<string, string>;
  children: XmlElement[];
  /** Concatenated, trimmed text children. */
  text: string;
}

export class XmlTreeError extends Error {
  override readonly name = 'XmlTreeError';
}

type RawNode = Record<string, unknown>;

/** Entity processing is off: references are decoded by {@link decodeReferences}, DOCTYPEs never get here. */
const PARSER_OPTIONS = {
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  processEntities: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
} as const;

const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/** Decodes `&lt;`-style and `&#NN;`/`&#xHH;` references; any other named entity is undeclared. */
export function decodeReferences(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(/&(#[xX][0-9a-fA-F]+|#[0-9]+|[A-Za-z_][\w.-]*);/g, (_m, ref: string) => {
    if (ref.startsWith('#')) {
      const hex = ref[1] === 'x' || ref[1] === 'X';
      const code = Number.parseInt(ref.slice(hex ? 2 : 1), hex ? 16 : 10);
      if (!Number.isFinite(code) || code < 1 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) {
        throw new XmlTreeError(`invalid character reference &${ref};`);
      }
      return String.fromCodePoint(code);
    }
    const value = PREDEFINED[ref];
    if (value === undefined) throw new XmlTreeError(`undeclared entity &${ref};`);
    return value;
  });
}

/**
 * Parses a well-formed XML document into a namespace-resolved tree.
 * @throws XmlTreeError when not well-formed, deeper than `maxDepth`, or a prefix is unbound.
 */
export function buildElementTree(xml: string, maxDepth: number): XmlElement {
  const verdict = XMLValidator.validate(xml);
  if (verdict !== true) {
    // The validator reports unclosed elements as "Invalid '[ ...open tags... ]' found": say it plainly.
    const unclosed = /^Invalid '\[/.test(verdict.err.msg);
    const what = unclosed ? 'unclosed elements at end of input (truncated?)' : verdict.err.msg.slice(0, 120);
    throw new XmlTreeError(`not well-formed XML: ${what} (line ${verdict.err.line})`);
  }
  let raw: unknown;
  try {
    raw = new XMLParser({ ...PARSER_OPTIONS, maxNestedTags: maxDepth + 1 }).parse(xml);
  } catch (err) {
    throw new XmlTreeError(`XML rejected: ${(err as Error).message}`);
  }
  const roots = (Array.isArray(raw) ? raw : []).filter((n): n is RawNode => isElementNode(n));
  if (roots.length !== 1) throw new XmlTreeError(`expected one root element, found ${roots.length}`);
  return resolve(roots[0], new Map([['xml', XML_NS]]), 1, maxDepth);
}

function isElementNode(node: unknown): node is RawNode {
  return typeof node === 'object' && node !== null && Object.keys(node).some((k) => k !== ':@' && k !== '#text');
}

function tagNameOf(node: RawNode): string {
  const name = Object.keys(node).find((k) => k !== ':@');
  if (name === undefined) throw new XmlTreeError('element without a name');
  return name;
}

function resolve(node: RawNode, scope: Map<string, string>, depth: number, maxDepth: number): XmlElement {
  if (depth > maxDepth) throw new XmlTreeError(`nesting deeper than ${maxDepth} elements`);
  const qname = tagNameOf(node);
  const rawAttrs = (node[':@'] ?? {}) as Record<string, unknown>;
  let local = scope;
  for (const [name, value] of Object.entries(rawAttrs)) {
    if (name === 'xmlns' || name.startsWith('xmlns:')) {
      if (local === scope) local = new Map(scope);
      local.set(name === 'xmlns' ? '' : name.slice(6), decodeReferences(String(value)));
    }
  }
  const [prefix, localName] = splitQName(qname);
  const ns = lookup(local, prefix, qname);
  const attrs: Record<string, string> = {};
  for (const [name, value] of Object.entries(rawAttrs)) {
    if (name === 'xmlns' || name.startsWith('xmlns:')) continue;
    const [attrPrefix, attrLocal] = splitQName(name);
    // Unprefixed attributes are in no namespace (Namespaces in XML §6.3).
    const key = attrPrefix === '' ? attrLocal : `{${lookup(local, attrPrefix, name)}}${attrLocal}`;
    attrs[key] = decodeReferences(String(value));
  }
  const children: XmlElement[] = [];
  const texts: string[] = [];
  const content = node[qname];
  for (const child of Array.isArray(content) ? (content as unknown[]) : []) {
    if (isElementNode(child)) children.push(resolve(child, local, depth + 1, maxDepth));
    else if (typeof child === 'object' && child !== null && '#text' in child) {
      texts.push(decodeReferences(String((child as RawNode)['#text'])));
    }
  }
  return { ns, local: localName, attrs, children, text: texts.join(' ').trim() };
}

function splitQName(qname: string): [string, string] {
  const colon = qname.indexOf(':');
  return colon < 0 ? ['', qname] : [qname.slice(0, colon), qname.slice(colon + 1)];
}

function lookup(scope: Map<string, string>, prefix: string, qname: string): string {
  const ns = scope.get(prefix);
  if (ns !== undefined) return ns;
  if (prefix === '') return '';
  throw new XmlTreeError(`namespace prefix '${prefix}' of <${qname}> is not declared`);
}

/** Child elements with this namespace and local name. */
export function childrenNamed(el: XmlElement, ns: string, local: string): XmlElement[] {
  return el.children.filter((c) => c.ns === ns && c.local === local);
}

/** The first child element with this namespace and local name. */
export function childNamed(el: XmlElement, ns: string, local: string): XmlElement | undefined {
  return el.children.find((c) => c.ns === ns && c.local === local);
}

/** Every descendant (depth-first, document order) matching the predicate. */
export function descendants(el: XmlElement, match: (e: XmlElement) => boolean): XmlElement[] {
  const found: XmlElement[] = [];
  const stack = [...el.children].reverse();
  while (stack.length > 0) {
    const next = stack.pop() as XmlElement;
    if (match(next)) found.push(next);
    for (let i = next.children.length - 1; i >= 0; i--) stack.push(next.children[i]);
  }
  return found;
}

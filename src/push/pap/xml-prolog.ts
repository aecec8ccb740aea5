/**
 * Reads the prolog of a PAP control entity by hand (XML 1.0 §2.8) so that nothing in it reaches the XML
 * parser: the XML declaration, comments, processing instructions (`<?wap-pap-ver …?>`, PAP 2.0 §8.2) and
 * the DOCTYPE. A DOCTYPE is only read for its public/system identifiers — no DTD is ever fetched — and an
 * internal subset may hold nothing but PIs and comments (PAP 2.0 PIs put `<?wap-pap-ver?>` there):
 * `<!ENTITY`, `<!ELEMENT`, `<!ATTLIST`, `<!NOTATION` and parameter-entity references are refused, so no
 * entity can ever be expanded (XXE, billion laughs).
 */
import { AgentError, ErrorCodes } from '../../errors.js';

export interface XmlProlog {
  doctype?: { name: string; publicId?: string; systemId?: string };
  /** `supported-versions` of a `<?wap-pap-ver?>` PI, when one was present. */
  supportedVersions?: string;
  /** Offset of the root element's `<`. */
  rootStart: number;
}

function invalid(message: string, field = 'DOCTYPE'): AgentError {
  return new AgentError(ErrorCodes.PAP_INVALID, message, field);
}

function skipSpace(text: string, i: number): number {
  while (i < text.length && /\s/.test(text[i])) i++;
  return i;
}

function readQuoted(text: string, i: number): { value: string; end: number } {
  const quote = text[i];
  if (quote !== '"' && quote !== "'") throw invalid('DOCTYPE identifier must be quoted');
  const close = text.indexOf(quote, i + 1);
  if (close < 0) throw invalid('unterminated DOCTYPE identifier');
  return { value: text.slice(i + 1, close), end: close + 1 };
}

/** Reads a PI starting at `i` (`<?`); returns its end and, for wap-pap-ver, the supported versions. */
function readPi(text: string, i: number): { end: number; supportedVersions?: string } {
  const close = text.indexOf('?>', i + 2);
  if (close < 0) throw invalid('unterminated processing instruction', 'xml');
  const content = text.slice(i + 2, close);
  const target = /^[^\s?]+/.exec(content)?.[0] ?? '';
  if (target.toLowerCase() === 'wap-pap-ver') {
    const match = /supported-versions\s*=\s*(?:"([^"]*)"|'([^']*)')/.exec(content);
    return { end: close + 2, supportedVersions: match?.[1] ?? match?.[2] ?? '' };
  }
  return { end: close + 2 };
}

function readComment(text: string, i: number): number {
  const close = text.indexOf('-->', i + 4);
  if (close < 0) throw invalid('unterminated comment', 'xml');
  return close + 3;
}

function readDoctype(text: string, start: number, prolog: XmlProlog): number {
  let i = skipSpace(text, start + '<!DOCTYPE'.length);
  const name = /^[A-Za-z_:][\w.:-]*/.exec(text.slice(i, i + 100))?.[0];
  if (!name) throw invalid('DOCTYPE without a root element name');
  i = skipSpace(text, i + name.length);
  const doctype: NonNullable<XmlProlog['doctype']> = { name };
  const keyword = text.slice(i, i + 6).toUpperCase();
  if (keyword === 'PUBLIC') {
    const pub = readQuoted(text, skipSpace(text, i + 6));
    doctype.publicId = pub.value;
    i = skipSpace(text, pub.end);
    if (text[i] === '"' || text[i] === "'") {
      const sys = readQuoted(text, i);
      doctype.systemId = sys.value;
      i = skipSpace(text, sys.end);
    }
  } else if (keyword === 'SYSTEM') {
    const sys = readQuoted(text, skipSpace(text, i + 6));
    doctype.systemId = sys.value;
    i = skipSpace(text, sys.end);
  }
  if (text[i] === '[') {
    i = skipSpace(text, i + 1);
    while (text[i] !== ']') {
      if (i >= text.length) throw invalid('unterminated DOCTYPE internal subset');
      const next = readPiOrComment(text, i, prolog);
      if (next === undefined) throw invalid('DOCTYPE internal subset declarations are refused (no entity is ever expanded)');
      i = next;
      i = skipSpace(text, i);
    }
    i = skipSpace(text, i + 1);
  }
  if (text[i] !== '>') throw invalid('malformed DOCTYPE');
  prolog.doctype = doctype;
  return i + 1;
}

/**
 * A processing instruction (keeping `wap-pap-ver supported-versions`) or a comment at `i`, in the prolog
 * or the DOCTYPE internal subset alike; returns the index after it, or undefined when `i` holds neither.
 */
function readPiOrComment(text: string, i: number, prolog: XmlProlog): number | undefined {
  if (text.startsWith('<?', i)) {
    const pi = readPi(text, i);
    if (pi.supportedVersions !== undefined) prolog.supportedVersions = pi.supportedVersions;
    return pi.end;
  }
  if (text.startsWith('<!--', i)) return readComment(text, i);
  return undefined;
}

/** Reads everything before the root element. Throws PAP_INVALID on anything it does not accept. */
export function readXmlProlog(text: string): XmlProlog {
  const prolog: XmlProlog = { rootStart: 0 };
  let i = skipSpace(text, 0);
  for (;;) {
    if (i >= text.length) throw invalid('no root element', 'pap');
    const next = readPiOrComment(text, i, prolog);
    if (next !== undefined) {
      i = next;
    } else if (text.startsWith('<!DOCTYPE', i)) {
      if (prolog.doctype) throw invalid('more than one DOCTYPE');
      i = readDoctype(text, i, prolog);
    } else if (text[i] === '<' && /[A-Za-z_:]/.test(text[i + 1] ?? '')) {
      prolog.rootStart = i;
      return prolog;
    } else {
      throw invalid('unexpected content before the root element', 'xml');
    }
    i = skipSpace(text, i);
  }
}

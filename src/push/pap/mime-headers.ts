/**
 * MIME entity headers (RFC 2045 §3, RFC 822 §3.1.1 folding) for the parts of a multipart body. Names are
 * case-insensitive, so parsed names are lower-cased; {@link canonicalHeaderName} restores the usual
 * spelling when a part is written out again.
 */
import { AgentError, ErrorCodes } from '../../errors.js';

/** Header map of one MIME part: lower-case names, unfolded values. */
export type MimeHeaders = Record<string, string>;

/**
 * Parses a header block (without the blank line that ends it). Continuation lines (leading SP/HT) are
 * unfolded; a repeated name has its values joined with `", "`. Bytes are read as latin1 so no byte is lost.
 */
export function parseMimeHeaders(block: Buffer): MimeHeaders {
  const headers: MimeHeaders = {};
  const lines = block.toString('latin1').split(/\r?\n/);
  let current: { name: string; value: string } | undefined;
  const flush = (): void => {
    if (!current) return;
    const value = current.value.trim();
    headers[current.name] = Object.hasOwn(headers, current.name) ? `${headers[current.name]}, ${value}` : value;
  };
  for (const line of lines) {
    if (line === '') continue;
    if ((line[0] === ' ' || line[0] === '\t') && current) {
      current.value += ` ${line.trim()}`;
      continue;
    }
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon).trim().toLowerCase() : '';
    if (!/^[!#$%&'*+\-.^_`|~0-9a-z]+$/.test(name) || name === '__proto__') {
      throw new AgentError(ErrorCodes.MULTIPART_INVALID, `malformed part header line: ${JSON.stringify(line.slice(0, 60))}`, 'headers');
    }
    flush();
    current = { name, value: line.slice(colon + 1) };
  }
  flush();
  return headers;
}

/** `x-wap-application-id` → `X-Wap-Application-Id`, `content-id` → `Content-ID` (RFC 2045 spelling). */
export function canonicalHeaderName(name: string): string {
  const lower = name.toLowerCase();
  if (lower === 'content-id') return 'Content-ID';
  if (lower === 'mime-version') return 'MIME-Version';
  return lower.replace(/(^|-)([a-z])/g, (_m, dash: string, letter: string) => dash + letter.toUpperCase());
}

/** Serialises headers, refusing CR/LF in names or values (header injection). */
export function formatMimeHeaders(headers: MimeHeaders): string {
  let text = '';
  for (const [name, value] of Object.entries(headers)) {
    if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name) || /[\r\n]/.test(value)) {
      throw new AgentError(ErrorCodes.MULTIPART_INVALID, `header ${JSON.stringify(name)} cannot be written`, name);
    }
    text += `${canonicalHeaderName(name)}: ${value}\r\n`;
  }
  return text;
}

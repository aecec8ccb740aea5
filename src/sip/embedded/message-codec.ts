/**
 * Pure SIP message codec over Buffers: the npm `sip` parser/serializer does the grammar, this file keeps
 * the body byte-exact (latin1 strings are one char per byte) and exposes raw header values.
 * No I/O here.
 */
import sip from 'sip';

/** RFC 3261 §7.3.3 compact header names. */
/** RFC 3261 §7.3.3 compact forms (and RFC 6665 §8.2.1 `o`/`u`). A Map: a header named like an Object member is just a header. */
const COMPACT_NAMES: ReadonlyMap<string, string> = new Map(
  Object.entries({
    i: 'call-id',
    m: 'contact',
    e: 'content-encoding',
    l: 'content-length',
    c: 'content-type',
    f: 'from',
    s: 'subject',
    k: 'supported',
    t: 'to',
    v: 'via',
    o: 'event',
    u: 'allow-events',
  }),
);

/** A message read off the wire: the structured form, raw header values, and the exact body bytes. */
export interface DecodedMessage {
  message: sip.Message;
  /** Lower-case (long-form) header names → values as received; comma lists stay joined. */
  headers: Record<string, string[]>;
  body: Buffer;
}

const HEADER_END = Buffer.from('\r\n\r\n', 'latin1');

/** Splits a header block into raw values, unfolding continuation lines (RFC 3261 §7.3.1). */
export function rawHeaders(headerBlock: string): Record<string, string[]> {
  const lines = headerBlock.split(/\r\n(?![ \t])/).slice(1);
  // No prototype: a header named `__proto__` or `constructor` (hostile or not) is stored like any other.
  const headers: Record<string, string[]> = Object.create(null);
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const short = line.slice(0, colon).trim().toLowerCase();
    const name = COMPACT_NAMES.get(short) ?? short;
    const value = line
      .slice(colon + 1)
      .replace(/\r\n[ \t]+/g, ' ')
      .trim();
    const values = headers[name];
    if (values) values.push(value);
    else headers[name] = [value];
  }
  return headers;
}

/**
 * Decodes one whole message (a UDP datagram or a frame cut by the stream framer). Returns undefined for
 * junk, and for a body shorter than Content-Length (RFC 3261 §18.3: such a message is discarded).
 */
export function decodeMessage(data: Buffer): DecodedMessage | undefined {
  let start = 0;
  while (start + 1 < data.length && data[start] === 0x0d && data[start + 1] === 0x0a) start += 2;
  const end = data.indexOf(HEADER_END, start);
  if (end < 0) return undefined;
  const headerBlock = data.subarray(start, end).toString('latin1');
  let message: sip.Message | undefined;
  try {
    message = sip.parse(`${headerBlock}\r\n\r\n`);
  } catch {
    return undefined;
  }
  if (!message?.headers) return undefined;
  const rest = data.subarray(end + HEADER_END.length);
  const declared = message.headers['content-length'];
  let body: Buffer;
  if (declared === undefined) {
    body = rest;
  } else {
    if (!Number.isInteger(declared) || declared < 0 || declared > rest.length) return undefined;
    body = rest.subarray(0, declared);
  }
  message.content = body.toString('latin1');
  return { message, headers: rawHeaders(headerBlock), body: Buffer.from(body) };
}

/** Serializes a message; `body` goes out byte-exact and Content-Length counts bytes (RFC 3261 §20.14). */
export function encodeMessage(message: sip.Message, body?: Buffer): Buffer {
  const out: sip.Message = { ...message, headers: { ...message.headers } };
  out.content = body && body.length > 0 ? body.toString('latin1') : '';
  return Buffer.from(sip.stringify(out), 'latin1');
}

/** First raw value of a header, or undefined. */
export function firstHeader(decoded: DecodedMessage, name: string): string | undefined {
  return decoded.headers[name]?.[0];
}

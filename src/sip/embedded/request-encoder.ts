/**
 * Wire bytes of an outgoing request, written directly: the request line, the top Via (RFC 3261
 * §8.1.1.7 branch, RFC 3581 `rport`), Max-Forwards (§8.1.1.6), Route, From, To, Call-ID, CSeq, the
 * extra headers, Content-Type and Content-Length (§20.14, in bytes), then the body byte-exact. Pure.
 *
 * The layout is byte for byte what `encodeMessage(toSipMessage(…))` writes through the npm `sip`
 * serializer (a test holds them equal): same header order, same `Prettified-Names`, repeated extra
 * headers joined with `, `, text as latin1 (one byte per character). It skips that serializer's generic
 * object walk and the body's round trip through a latin1 string — the cost of every MESSAGE sent.
 */
import type { BoundAddress } from '../port.js';
import type { OutgoingRequest } from './outgoing-request.js';

/** `sip.stringify`'s header-name spelling: `call-id` → `Call-ID`, else each word capitalised. */
function prettify(name: string): string {
  if (name === 'call-id') return 'Call-ID';
  return name.replace(/\b([a-z])/g, (c) => c.toUpperCase());
}

const PRETTY = new Map<string, string>();
/** Header names seen are few (the profile's); the memo is bounded anyway. */
const MAX_PRETTY = 256;

function prettyName(name: string): string {
  let pretty = PRETTY.get(name);
  if (pretty === undefined) {
    pretty = prettify(name);
    if (PRETTY.size < MAX_PRETTY) PRETTY.set(name, pretty);
  }
  return pretty;
}

const VIA = Symbol('via');
const CSEQ = Symbol('cseq');

/**
 * The request on the wire with a top Via for `local` and `branch`. Headers are collected in a Map with
 * the key order and override rules of the message object toSipMessage builds (a later header of the
 * same name keeps the first one's place), then written in one string.
 */
export function encodeRequest(request: OutgoingRequest, local: BoundAddress, branch: string): Buffer {
  const host = local.host.includes(':') ? `[${local.host}]` : local.host;
  const headers = new Map<string, string | typeof VIA | typeof CSEQ>([
    ['via', VIA],
    ['max-forwards', '70'],
  ]);
  // Extra headers in first-seen order, repeated names joined (as toSipMessage groups them).
  const extra = new Map<string, string>();
  for (const [name, value] of request.headers) {
    if (name === 'max-forwards') headers.set(name, value);
    else {
      const seen = extra.get(name);
      extra.set(name, seen === undefined ? value : `${seen}, ${value}`);
    }
  }
  const route = extra.get('route');
  if (route !== undefined) {
    headers.set('route', route);
    extra.delete('route');
  }
  headers.set('from', request.from).set('to', request.to).set('call-id', request.callId).set('cseq', CSEQ);
  // A plain object has no own `__proto__` key: the serializer never wrote one.
  for (const [name, value] of extra) if (name !== '__proto__') headers.set(name, value);
  if (request.contentType) headers.set('content-type', request.contentType);
  const body = request.body;
  headers.set('content-length', String(body?.length ?? 0));
  let head = `${request.method} ${request.requestUri} SIP/2.0\r\n`;
  for (const [name, value] of headers) {
    if (value === VIA)
      head += `Via: SIP/2.0/${local.transport.toUpperCase()} ${host}${local.port ? `:${local.port}` : ''};branch=${branch};rport\r\n`;
    else if (value === CSEQ) head += `CSeq: ${request.cseq} ${request.method}\r\n`;
    else head += `${prettyName(name)}: ${value}\r\n`;
  }
  head += '\r\n';
  if (!body || body.length === 0) return Buffer.from(head, 'latin1');
  const out = Buffer.allocUnsafe(head.length + body.length);
  out.write(head, 0, 'latin1');
  body.copy(out, head.length);
  return out;
}

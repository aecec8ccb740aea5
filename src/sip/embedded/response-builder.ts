import net from 'node:net';
import sip from 'sip';
import type { BoundAddress, IncomingReply } from '../port.js';
import { encodeMessage, type DecodedMessage } from './message-codec.js';
import type { Destination } from './transport.js';

const REASONS: Record<number, string> = {
  100: 'Trying',
  200: 'OK',
  202: 'Accepted',
  400: 'Bad Request',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  415: 'Unsupported Media Type',
  480: 'Temporarily Unavailable',
  481: 'Call/Transaction Does Not Exist',
  486: 'Busy Here',
  489: 'Bad Event',
  500: 'Server Internal Error',
  503: 'Service Unavailable',
};

export function defaultReason(status: number): string {
  return REASONS[status] ?? (status < 300 ? 'OK' : 'Error');
}

/**
 * RFC 3261 §8.1.1 mandatory request headers. Returns the first one missing or unparsable, or the
 * CSeq mismatch, as a 400 reason phrase; undefined when the request is well formed.
 */
export function missingMandatoryHeader(request: DecodedMessage): string | undefined {
  const h = request.message.headers;
  if (!h.via || h.via.length === 0) return 'Missing Via';
  if (!h.from || typeof h.from !== 'object') return 'Missing From';
  if (!h.to || typeof h.to !== 'object') return 'Missing To';
  if (!h['call-id']) return 'Missing Call-ID';
  if (!h.cseq || !Number.isFinite(h.cseq.seq)) return 'Missing CSeq';
  if (!request.headers['max-forwards']) return 'Missing Max-Forwards';
  if (h.cseq.method.toUpperCase() !== (request.message.method ?? '').toUpperCase()) return 'CSeq Method Mismatch';
  return undefined;
}

/**
 * Builds a response to `request` (RFC 3261 §8.2.6): copies Via/From/To/Call-ID/CSeq, adds a To tag to a
 * final response when the request had none, and stamps `received`/`rport` on the top Via
 * (RFC 3261 §18.2.1, RFC 3581 §4).
 */
export function buildResponse(request: DecodedMessage, source: BoundAddress, reply: IncomingReply, toTag: string): Buffer {
  const rq = request.message;
  const vias = (rq.headers.via ?? []).map((via, index) => {
    if (index !== 0) return via;
    const params = { ...via.params };
    if (via.host.replace(/^\[|\]$/g, '') !== source.host) params.received = source.host;
    if ('rport' in params) {
      params.received = source.host;
      params.rport = String(source.port);
    }
    return { ...via, params };
  });
  const extra: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(reply.headers ?? {})) {
    extra[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  if (reply.contentType) extra['content-type'] = reply.contentType;
  const response = sip.makeResponse(rq, reply.status, reply.reason ?? defaultReason(reply.status), { headers: extra });
  response.headers.via = vias;
  // RFC 3261 §7.1: always SIP/2.0, whatever version a (malformed) request claimed (found by bad-input-sip).
  response.version = '2.0';
  const to = rq.headers.to;
  const toParams = to && reply.status >= 200 && !to.params?.tag ? { ...to.params, tag: toTag } : to?.params;
  // sip.stringify writes string-valued headers verbatim
  const written = response.headers as Record<string, unknown>;
  if (to) written.to = formatParsedNameAddr({ ...to, params: toParams ?? {} });
  if (rq.headers.from) written.from = formatParsedNameAddr(rq.headers.from);
  return encodeMessage(response, reply.body);
}

/** name-addr text from the parser's form, without the stray space `sip.stringify` puts before `<`. */
function formatParsedNameAddr(value: sip.NameAddr): string {
  const params = Object.entries(value.params ?? {})
    .map(([k, v]) => (v === null ? `;${k}` : `;${k}=${v}`))
    .join('');
  return `${value.name ? `${value.name} ` : ''}<${value.uri}>${params}`;
}

/**
 * Where a response goes over UDP (RFC 3261 §18.2.2 with RFC 3581 §4): with `rport`, the source address and
 * port; otherwise the source address and the Via's sent-by port (default 5060).
 */
export function udpResponseDestination(request: DecodedMessage, source: BoundAddress): Destination {
  const via = request.message.headers.via?.[0];
  if (!via || 'rport' in via.params) return { host: source.host, port: source.port };
  const host = via.params.received ?? source.host;
  return { host: net.isIP(host) ? host : source.host, port: via.port ?? 5060 };
}

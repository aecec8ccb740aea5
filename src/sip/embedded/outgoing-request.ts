import type sip from 'sip';
import type { BoundAddress, SipHeaders } from '../port.js';

/**
 * A request as the TU (the engine's request API or a subscription dialog) hands it to the transaction
 * layer. Via, Max-Forwards and Content-Length are added when it is sent. Pure data.
 */
export interface OutgoingRequest {
  method: string;
  requestUri: string;
  /** Full From header value, including `;tag=`. */
  from: string;
  /** Full To header value (with `;tag=` inside a dialog). */
  to: string;
  callId: string;
  cseq: number;
  /** Extra headers in wire order, lower-case names (Route first when present). */
  headers: Array<[string, string]>;
  contentType?: string;
  body?: Buffer;
}

/** Headers the engine owns; caller-supplied copies are dropped. */
const ENGINE_OWNED = new Set(['via', 'call-id', 'cseq', 'content-length', 'l', 'i', 'v', 'from', 'to', 'f', 't']);

/** Flattens a caller's {@link SipHeaders} into ordered pairs, dropping engine-owned names. */
export function headerPairs(headers: SipHeaders | undefined): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  for (const [name, value] of Object.entries(headers ?? {})) {
    const lower = name.toLowerCase();
    if (ENGINE_OWNED.has(lower)) continue;
    for (const v of Array.isArray(value) ? value : [value]) pairs.push([lower, v]);
  }
  return pairs;
}

/** `<sip:host:port;transport=tcp;lr>`: a loose-routing Route entry for an outbound proxy (RFC 3261 §16.12). */
export function proxyRoute(proxy: BoundAddress): string {
  const host = proxy.host.includes(':') ? `[${proxy.host}]` : proxy.host;
  const transport = proxy.transport === 'udp' ? '' : `;transport=${proxy.transport}`;
  return `<sip:${host}:${proxy.port}${transport};lr>`;
}

/** The top Via this agent puts on a request (RFC 3261 §8.1.1.7, with RFC 3581 `rport`). */
export function topVia(local: BoundAddress, branch: string): sip.Via {
  return {
    version: '2.0',
    protocol: local.transport.toUpperCase(),
    host: local.host.includes(':') ? `[${local.host}]` : local.host,
    port: local.port,
    params: { branch, rport: null },
  };
}

/** Builds the `sip` message object for a request, ready for `encodeMessage`. */
export function toSipMessage(request: OutgoingRequest, via: sip.Via): sip.Message {
  // sip.stringify writes string-valued headers verbatim, so From/To/Route go out exactly as built here.
  const headers: Record<string, unknown> = {
    via: [via],
    'max-forwards': '70',
  };
  const extra = new Map<string, string[]>();
  for (const [name, value] of request.headers) {
    if (name === 'max-forwards') {
      headers['max-forwards'] = value;
      continue;
    }
    const list = extra.get(name) ?? [];
    list.push(value);
    extra.set(name, list);
  }
  const route = extra.get('route');
  if (route) {
    headers.route = route.join(', ');
    extra.delete('route');
  }
  headers.from = request.from;
  headers.to = request.to;
  headers['call-id'] = request.callId;
  headers.cseq = { seq: request.cseq, method: request.method };
  for (const [name, values] of extra) headers[name] = values.join(', ');
  if (request.contentType) headers['content-type'] = request.contentType;
  return { method: request.method, uri: request.requestUri, version: '2.0', headers: headers as sip.Headers };
}

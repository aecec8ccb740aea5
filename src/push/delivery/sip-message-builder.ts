/**
 * The SIP MESSAGE that carries a push (RFC 3428; OMA SIP Push, docs/standards.md):
 * Request-URI/To = the AOR, From = the profile identity, P-Asserted-Identity (RFC 3325) when the profile
 * says so, `Accept-Contact: *;+g.oma.pusheventapp="<app>"` (RFC 3841 §9.2, `;require;explicit` per
 * profile), Content-Type and body of the content entity byte-exact, and no Contact (RFC 3428 §4).
 * Pure: the engine adds Via, Max-Forwards and Content-Length, and Call-ID, CSeq and the From tag
 * unless the push's stored identity is given (`options.identity`).
 */
import type { OutOfDialogRequest, RequestIdentity, SipHeaders, SipTransport } from '../../sip/port.js';
import { AgentError, ErrorCodes } from '../../errors.js';
import { RESERVED_HEADERS, type SipProfile } from '../../profiles/schema.js';
import type { PushSubmission } from '../pap/pap-types.js';
import { pushEventAppFor } from '../omna-app-ids.js';

/** Room for what the engine adds (Via with branch, Call-ID, CSeq, Max-Forwards, tags, Content-Length). */
const ENGINE_HEADER_ALLOWANCE = 300;

export interface MessageBuildOptions {
  /** From {@link messageTransportFor}: with an outbound proxy, the hop is pinned to this transport. */
  transport?: SipTransport;
  /** The push's stored Call-ID, From tag and CSeq: every copy of its MESSAGE carries the same ones. */
  identity?: RequestIdentity;
}

/** The `Accept-Contact` value for a push application (RFC 3841 §9.2). */
export function acceptContactFor(app: string, requireExplicit: boolean): string {
  return `*;+g.oma.pusheventapp="${app}"${requireExplicit ? ';require;explicit' : ''}`;
}

function headerValue(headers: Record<string, string>, lowerName: string): string | undefined {
  return Object.entries(headers).find(([name]) => name.toLowerCase() === lowerName)?.[1];
}

/** Builds the MESSAGE for one push to one AOR (see the module comment). */
export function buildPushMessageRequest(
  push: PushSubmission,
  aor: string,
  profile: SipProfile,
  options: MessageBuildOptions = {},
): OutOfDialogRequest {
  const headers: SipHeaders = {};
  const { message, identity } = profile;
  if (message.pAssertedIdentity) headers['P-Asserted-Identity'] = `<${identity.assertedIdentity ?? identity.uri}>`;
  if (message.acceptContact) {
    headers['Accept-Contact'] = acceptContactFor(
      pushEventAppFor(headerValue(push.content.headers, 'x-wap-application-id')),
      message.requireExplicit,
    );
  }
  for (const [name, value] of Object.entries(message.extraHeaders)) {
    if (RESERVED_HEADERS.has(name.toLowerCase())) {
      throw new AgentError(ErrorCodes.PROFILE_INVALID, `message.extraHeaders may not set ${name}`, `message.extraHeaders.${name}`);
    }
    headers[name] = value;
  }
  const request: OutOfDialogRequest = {
    method: 'MESSAGE',
    requestUri: aor,
    to: aor,
    from: identity.uri,
    headers,
    contentType: push.content.contentType,
    body: push.content.body,
  };
  if (identity.displayName !== undefined) request.fromDisplayName = identity.displayName;
  if (options.identity) request.identity = options.identity;
  if (options.transport) pinTransport(request, options.transport, profile);
  return request;
}

/**
 * With an outbound proxy, pins the hop to `transport` (from {@link messageTransportFor}). Lets a request
 * be built once, measured, and then sent: the transport changes neither its headers nor its size.
 */
export function pinTransport(request: OutOfDialogRequest, transport: SipTransport, profile: SipProfile): OutOfDialogRequest {
  if (profile.outboundProxy) request.nextHop = { ...profile.outboundProxy, transport };
  return request;
}

/** Bytes the request will have on the wire, within {@link ENGINE_HEADER_ALLOWANCE}. */
export function estimateRequestBytes(request: OutOfDialogRequest): number {
  let bytes = `${request.method} ${request.requestUri} SIP/2.0\r\n`.length;
  bytes += `From: "${request.fromDisplayName ?? ''}" <${request.from}>\r\nTo: <${request.to ?? request.requestUri}>\r\n`.length;
  for (const [name, value] of Object.entries(request.headers ?? {})) {
    for (const item of Array.isArray(value) ? value : [value]) bytes += Buffer.byteLength(`${name}: ${item}\r\n`);
  }
  if (request.contentType) bytes += `Content-Type: ${request.contentType}\r\n`.length;
  return bytes + ENGINE_HEADER_ALLOWANCE + 2 + (request.body?.length ?? 0);
}

/**
 * How a MESSAGE of `messageBytes` goes out (RFC 3428 §9, RFC 3261 §18.1.1): a profile whose outbound
 * hop is TCP always uses TCP; otherwise over `message.sizeThreshold` (1300 by default) it needs a
 * congestion-controlled transport → `tcp`, or `hand-back` when the profile says so; else `udp`.
 * Pass {@link estimateRequestBytes} of the built request (the RFC counts the whole request).
 */
export function messageTransportFor(messageBytes: number, profile: SipProfile): SipTransport | 'hand-back' {
  if (profile.outboundProxy?.transport === 'tcp') return 'tcp';
  if (messageBytes <= profile.message.sizeThreshold) return 'udp';
  return profile.message.largeMessage === 'tcp' ? 'tcp' : 'hand-back';
}

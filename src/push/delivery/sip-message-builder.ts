/**
 * The SIP MESSAGE that carries a push (RFC 3428; OMA SIP Push, docs/standards.md):
 * Request-URI/To = the AOR, From = the profile identity, P-Asserted-Identity (RFC 3325) when the profile
 * says so, `Accept-Contact: *;+g.oma.pusheventapp="<app>"` (RFC 3841 §9.2, `;require;explicit` per
 * profile), Content-Type and body of the content entity byte-exact, and no Contact (RFC 3428 §4).
 * Pure: the engine adds Via, Max-Forwards and Content-Length, and Call-ID, CSeq and the From tag
 * unless the push's stored identity is given (`options.identity`). What the profile fixes is prepared
 * once per profile (and push application) and shared; a push fills in only its own parts.
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

/**
 * What a profile makes the same in every MESSAGE, prepared once: the headers (P-Asserted-Identity,
 * Accept-Contact for each push application seen, the extra headers, already checked) as one frozen
 * object per application. Only the per-push parts — Request-URI, To, the identity, Content-Type and
 * body — are filled in per push; the engine adds Via with its branch, CSeq, Content-Length.
 */
interface ProfileTemplate {
  headersByApp: Map<string, Readonly<SipHeaders>>;
}

const templates = new WeakMap<SipProfile, ProfileTemplate>();
/** Push applications are a handful (OMNA ids); past this many, headers are built per push, uncached. */
const MAX_CACHED_APPS = 64;

function templateFor(profile: SipProfile): ProfileTemplate {
  let template = templates.get(profile);
  if (template) return template;
  for (const name of Object.keys(profile.message.extraHeaders)) {
    if (RESERVED_HEADERS.has(name.toLowerCase())) {
      throw new AgentError(ErrorCodes.PROFILE_INVALID, `message.extraHeaders may not set ${name}`, `message.extraHeaders.${name}`);
    }
  }
  template = { headersByApp: new Map() };
  templates.set(profile, template);
  return template;
}

/** The profile's headers for push application `app` (undefined when the profile sends no Accept-Contact). */
function headersFor(profile: SipProfile, app: string | undefined): Readonly<SipHeaders> {
  const template = templateFor(profile);
  const key = app ?? '';
  const cached = template.headersByApp.get(key);
  if (cached) return cached;
  const { message, identity } = profile;
  const headers: SipHeaders = {};
  if (message.pAssertedIdentity) headers['P-Asserted-Identity'] = `<${identity.assertedIdentity ?? identity.uri}>`;
  if (app !== undefined) headers['Accept-Contact'] = acceptContactFor(app, message.requireExplicit);
  Object.assign(headers, message.extraHeaders);
  // Frozen: shared by every MESSAGE of this profile and application, never changed by a reader.
  Object.freeze(headers);
  if (template.headersByApp.size < MAX_CACHED_APPS) template.headersByApp.set(key, headers);
  return headers;
}

/** Builds the MESSAGE for one push to one AOR (see the module comment). */
export function buildPushMessageRequest(
  push: PushSubmission,
  aor: string,
  profile: SipProfile,
  options: MessageBuildOptions = {},
): OutOfDialogRequest {
  const app = profile.message.acceptContact ? pushEventAppFor(headerValue(push.content.headers, 'x-wap-application-id')) : undefined;
  const { identity } = profile;
  const request: OutOfDialogRequest = {
    method: 'MESSAGE',
    requestUri: aor,
    to: aor,
    from: identity.uri,
    headers: headersFor(profile, app) as SipHeaders,
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

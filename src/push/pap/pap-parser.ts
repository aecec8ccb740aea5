/**
 * PAP request parsing (WAP-164 PAP 1.0, WAP-247 PAP 2.0, OMA-TS-PAP 2.1; docs/standards.md §2.1–§2.3).
 *
 * A push is `multipart/related; type="application/xml"`: the control entity (`<pap><push-message>`)
 * first — or the part named by `start` (RFC 2387 §3.2) — then the content entity, then an optional
 * capabilities entity. Cancel and status-query arrive as plain `application/xml` (or as a one-part
 * multipart). Untrusted bytes in, typed {@link PapRequest} out; every failure is an AgentError:
 * MULTIPART_INVALID / PAP_INVALID (PAP 2000), PAP_VERSION (3002), ADDRESS_INVALID (2002),
 * PAP_NOT_IMPLEMENTED (3001, e.g. `ccq-message`).
 */
import { AgentError, ErrorCodes } from '../../errors.js';
import { parsePapAddress } from '../address.js';
import { parseContentType } from './content-type.js';
import { parseMultipartRelated, type MimePart, type MultipartLimits } from './multipart.js';
import {
  booleanAttribute,
  childElements,
  enumAttribute,
  headerTextAttribute,
  httpUrlAttribute,
  identifierAttribute,
  optionalAttribute,
  requiredAttribute,
  timestampAttribute,
} from './pap-attributes.js';
import { pushEventAppFor } from '../omna-app-ids.js';
import { canonicalHeaderName } from './mime-headers.js';
import { hasControlCharacter, isMediaType, MAX_BEARER_CHARS } from './header-safe.js';
import { readPapDocument, type PapElement } from './pap-document.js';
import type { PapQualityOfService, PapRequest, PapVersion, PushContent, PushSubmission } from './pap-types.js';

export interface PapParseOptions {
  /** Size limit of the control entity (default 64 KiB). */
  maxControlBytes?: number;
  multipart?: Partial<MultipartLimits>;
}

const XML_TYPES = new Set(['application/xml', 'text/xml']);
const REQUEST_ELEMENTS = new Set(['push-message', 'cancel-message', 'statusquery-message']);
const UNIMPLEMENTED_ELEMENTS = new Set(['ccq-message', 'resultnotification-response']);

function invalid(message: string, field: string): AgentError {
  return new AgentError(ErrorCodes.PAP_INVALID, message, field);
}

interface Entities {
  control: { body: Buffer; charset?: string };
  content?: MimePart;
  capabilities?: Buffer;
}

function contentIdOf(part: MimePart): string | undefined {
  return part.headers['content-id']?.trim().replace(/^<(.*)>$/, '$1');
}

function splitEntities(contentType: string, body: Buffer, options: PapParseOptions): Entities {
  const { mediaType, params } = parseContentType(contentType);
  if (XML_TYPES.has(mediaType)) return { control: { body, charset: params.charset } };
  if (!mediaType.startsWith('multipart/'))
    throw invalid(`PAP requests are multipart/related or application/xml, not ${JSON.stringify(mediaType)}`, 'Content-Type');
  const multipart = parseMultipartRelated(contentType, body, options.multipart);
  const start = multipart.start?.trim().replace(/^<(.*)>$/, '$1');
  const rootIndex = start === undefined ? 0 : multipart.parts.findIndex((part) => contentIdOf(part) === start);
  if (rootIndex < 0) throw invalid(`no part has the Content-ID named by start=${JSON.stringify(start)}`, 'start');
  const root = multipart.parts[rootIndex];
  const others = multipart.parts.filter((_part, index) => index !== rootIndex);
  const rootType = parseContentType(root.headers['content-type'] ?? 'application/xml');
  if (!XML_TYPES.has(rootType.mediaType))
    throw invalid(`control entity must be application/xml, not ${JSON.stringify(rootType.mediaType)}`, 'control-entity');
  return {
    control: { body: root.body, charset: rootType.params.charset },
    ...(others[0] ? { content: others[0] } : {}),
    ...(others[1] ? { capabilities: others[1].body } : {}),
  };
}

function addressesOf(message: PapElement): string[] {
  return childElements(message, 'address').map((address) => {
    const value = requiredAttribute(address, 'address-value');
    parsePapAddress(value);
    return value;
  });
}

function qualityOfService(message: PapElement): PapQualityOfService {
  const elements = childElements(message, 'quality-of-service');
  if (elements.length > 1) throw invalid('more than one <quality-of-service>', 'quality-of-service');
  const qos = elements[0];
  if (!qos) return { bearerRequired: false, networkRequired: false };
  const priority = enumAttribute(qos, 'priority', ['high', 'medium', 'low'] as const);
  const deliveryMethod = enumAttribute(qos, 'delivery-method', ['confirmed', 'preferconfirmed', 'unconfirmed', 'notspecified'] as const);
  // The bearer comes back as the X-Push-Bearer-Hint header of a 3010 and of the hand-back POST.
  const bearer = headerTextAttribute(qos, 'bearer', MAX_BEARER_CHARS);
  const network = headerTextAttribute(qos, 'network', MAX_BEARER_CHARS);
  return {
    ...(priority ? { priority } : {}),
    ...(deliveryMethod ? { deliveryMethod } : {}),
    ...(bearer ? { bearer } : {}),
    bearerRequired: booleanAttribute(qos, 'bearer-required', false),
    ...(network ? { network } : {}),
    networkRequired: booleanAttribute(qos, 'network-required', false),
  };
}

function pushContent(part: MimePart | undefined): PushContent {
  if (!part) throw invalid('push-message without a content entity (the second multipart/related part)', 'content');
  const contentType = part.headers['content-type'];
  if (!contentType) throw invalid('content entity has no Content-Type', 'content.Content-Type');
  // Every content header goes out again: Content-Type in the SIP MESSAGE, all of them in a hand-back part.
  for (const [name, value] of Object.entries(part.headers)) {
    if (hasControlCharacter(value, true))
      throw invalid(`content header ${canonicalHeaderName(name)} contains a control character`, `content.${canonicalHeaderName(name)}`);
  }
  if (!isMediaType(contentType))
    throw invalid(
      `content Content-Type ${JSON.stringify(contentType.slice(0, 80))} is not a media type (type/subtype; name=value)`,
      'content.Content-Type',
    );
  const appId = part.headers['x-wap-application-id'];
  if (appId !== undefined) pushEventAppFor(appId); // PAP_INVALID unless it can be an Accept-Contact feature-tag value
  return { contentType, headers: { ...part.headers }, body: part.body };
}

function pushSubmission(message: PapElement, version: PapVersion, entities: Entities): PushSubmission {
  const pushId = identifierAttribute(message, 'push-id');
  const addresses = addressesOf(message);
  if (addresses.length === 0) throw invalid('push-message has no <address>', 'address');
  const optional = {
    deliverBefore: timestampAttribute(message, 'deliver-before-timestamp'),
    deliverAfter: timestampAttribute(message, 'deliver-after-timestamp'),
    notifyTo: httpUrlAttribute(message, 'ppg-notify-requested-to'),
    sourceReference: optionalAttribute(message, 'source-reference'),
    senderAddress: optionalAttribute(message, 'sender-address'),
    senderName: optionalAttribute(message, 'sender-name'),
    replacePushId: optionalAttribute(message, 'replace-push-id'),
    replaceMethod: enumAttribute(message, 'replace-method', ['pending-only', 'all'] as const),
    capabilities: entities.capabilities,
  };
  const defined = Object.fromEntries(Object.entries(optional).filter(([, value]) => value !== undefined)) as Partial<typeof optional>;
  return {
    pushId,
    papVersion: version,
    addresses,
    qos: qualityOfService(message),
    progressNotesRequested: booleanAttribute(message, 'progress-notes-requested', false),
    content: pushContent(entities.content),
    ...(defined as Omit<PushSubmission, 'pushId' | 'papVersion' | 'addresses' | 'qos' | 'progressNotesRequested' | 'content'>),
  };
}

/** Parses a PAP request body. See the module comment for the errors. */
export function parsePapRequest(contentType: string, body: Buffer, options: PapParseOptions = {}): PapRequest {
  const entities = splitEntities(contentType, body, options);
  const { root, version } = readPapDocument(entities.control.body, entities.control.charset, options.maxControlBytes);
  const unimplemented = root.children.find((child) => UNIMPLEMENTED_ELEMENTS.has(child.name));
  if (unimplemented) throw new AgentError(ErrorCodes.PAP_NOT_IMPLEMENTED, `<${unimplemented.name}> is not implemented`, unimplemented.name);
  const messages = root.children.filter((child) => REQUEST_ELEMENTS.has(child.name));
  if (messages.length !== 1) {
    const names = root.children.map((child) => `<${child.name}>`).join(', ') || 'nothing';
    throw invalid(`<pap> must hold exactly one push-message, cancel-message or statusquery-message; found ${names}`, 'pap');
  }
  const message = messages[0];
  if (message.name === 'push-message') return { kind: 'push', push: pushSubmission(message, version, entities) };
  const pushId = identifierAttribute(message, 'push-id');
  const addresses = addressesOf(message);
  const kind = message.name === 'cancel-message' ? 'cancel' : 'statusquery';
  return { kind, pushId, papVersion: version, ...(addresses.length > 0 ? { addresses } : {}) };
}

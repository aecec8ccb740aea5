/**
 * The asynchronous hand-back (product.md §3): the push goes back to the PPG as a full PAP
 * `push-message` (PAP 2.0 §9.2) — same push-id unless told otherwise, the PI's addresses, times and
 * notify URL, and `<quality-of-service bearer="<hint>">` — with the content entity byte-exact.
 *
 * `bearer-required` keeps the PI's value only when the hint is the bearer the PI asked for; a hint the
 * agent chose is advice, so it goes out as `bearer-required="false"`.
 */
import { buildMultipartRelated, type MimePart } from './multipart.js';
import type { PapVersion, PushSubmission } from './pap-types.js';
import { formatPapTime, papDocument, qosElement, xmlElement } from './pap-xml-writer.js';

export interface HandBackOptions {
  /** A different push-id for the PPG (default: the original). */
  pushId?: string;
  /** Where the PPG should send its result notification (default: the PI's `ppg-notify-requested-to`). */
  notifyTo?: string;
  /** DOCTYPE version (default: the version the PI used). */
  version?: PapVersion;
  /** Fixed boundary, for reproducible output. */
  boundary?: string;
}

function withoutContentType(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => name.toLowerCase() !== 'content-type'));
}

/** Builds the hand-back body; `contentType` is `multipart/related; boundary=…; type="application/xml"`. */
export function buildHandBackPush(push: PushSubmission, bearerHint: string, options: HandBackOptions = {}): { contentType: string; body: Buffer } {
  const sameBearer = push.qos.bearer !== undefined && push.qos.bearer.toLowerCase() === bearerHint.toLowerCase();
  const qos = { ...push.qos, bearer: bearerHint, bearerRequired: sameBearer && push.qos.bearerRequired };
  const notifyTo = options.notifyTo ?? push.notifyTo;
  const attributes = {
    'push-id': options.pushId ?? push.pushId,
    'replace-push-id': push.replacePushId,
    'replace-method': push.replaceMethod,
    'deliver-before-timestamp': push.deliverBefore ? formatPapTime(push.deliverBefore) : undefined,
    'deliver-after-timestamp': push.deliverAfter ? formatPapTime(push.deliverAfter) : undefined,
    'source-reference': push.sourceReference,
    'ppg-notify-requested-to': notifyTo,
    'progress-notes-requested': push.progressNotesRequested ? 'true' : undefined,
  };
  const children = [...push.addresses.map((address) => xmlElement('address', { 'address-value': address })), qosElement(qos)];
  const control = papDocument(xmlElement('push-message', attributes, children), options.version ?? push.papVersion);
  const parts: MimePart[] = [
    { headers: { 'content-type': 'application/xml; charset=UTF-8' }, body: Buffer.from(control, 'utf8') },
    { headers: { ...withoutContentType(push.content.headers), 'content-type': push.content.contentType }, body: push.content.body },
  ];
  if (push.capabilities) parts.push({ headers: { 'content-type': 'application/rdf+xml' }, body: push.capabilities });
  const built = buildMultipartRelated(parts, options.boundary, { type: 'application/xml' });
  return { contentType: built.contentType, body: built.body };
}

/**
 * The asynchronous hand-back: the push goes back to the PPG as a full PAP `push-message` (PAP 2.0 §9.2)
 * with the content entity byte-exact and `<quality-of-service bearer="<hint>">`. It is built from a
 * clean model ({@link handBackModel}), never by copying the PI's control entity, because a PPG checks
 * things the PI's request need not satisfy once the agent changed the bearer:
 *
 * - `network-required` and `bearer-required` carry one value (PAP 1.0 §9.2.3 QoS semantics; a PPG
 *   refuses a push whose two flags disagree). They are `true` only when the hint is the very bearer the
 *   PI required; a hint the agent chose is advice, so both go out `false`.
 * - When the flags are `true` a `network` value is present (the PI's, else `ppg.network`, else `Any`,
 *   the WDP network name that matches every network): a PPG told a network is required must be told
 *   which one.
 * - Attributes are limited to the PAP version the PPG speaks (`ppg.papVersion`): PAP 1.0 has no
 *   `replace-push-id`/`replace-method` (added in PAP 2.0), and the DOCTYPE names that version.
 * - The address is the one the PPG can route over the hint (see `handBackAddress` in `../address.ts`).
 * - `ppg-notify-requested-to` is carried only when the PPG is the party that notifies the PI
 *   (`ppg.sendsResultNotifications`); otherwise the agent notifies and the PPG is not asked to.
 */
import { AgentError, ErrorCodes } from '../../errors.js';
import { buildMultipartRelated, type MimePart } from './multipart.js';
import type { PapDeliveryMethod, PapPriority, PapVersion, PushSubmission } from './pap-types.js';
import { formatPapTime, papDocument, xmlElement } from './pap-xml-writer.js';

/** The PAP versions a PPG behind the agent can be configured to speak. */
export const PPG_PAP_VERSIONS = ['1.0', '2.0', '2.1'] as const;
export type PpgPapVersion = (typeof PPG_PAP_VERSIONS)[number];

/**
 * The most compatible choice: every PAP 2.x PPG also reads PAP 1.x documents (PAP 2.0 §8.1 keeps 1.x
 * compatible and PPGs announce `supported-versions="2.0,1.*"`), while a PAP 1.0 PPG refuses a 2.x DTD.
 */
export const DEFAULT_PPG_PAP_VERSION: PpgPapVersion = '1.0';

/** The WDP network name that matches any network (WAP WDP Appendix C). */
export const ANY_NETWORK = 'Any';

/**
 * A bearer or network name as it may appear in a QoS attribute: the WDP names (`SMS`, `Packet Data`,
 * `GHOST/R_DATA`, `GUTS/R-Data`) fit; control characters, quotes and anything long do not.
 */
const QOS_NAME = /^[A-Za-z0-9][A-Za-z0-9 ._/+-]{0,63}$/;

export interface HandBackInput {
  /** The bearer the PPG should use (the agent's hint, or the bearer the PI required). */
  bearerHint: string;
  /** The address-value the PPG can route over that bearer. */
  address: string;
  /** The PAP version the PPG speaks. */
  papVersion: PpgPapVersion;
  /** Where the PPG sends its result notification; undefined = not asked to notify. */
  notifyTo?: string;
  /** Network named when the flags are true and the PI named none (default {@link ANY_NETWORK}). */
  network?: string;
  /** A different push-id for the PPG (default: the original). */
  pushId?: string;
}

/** Everything the hand-back's control entity says, already consistent and valid for `papVersion`. */
export interface HandBackModel {
  papVersion: PpgPapVersion;
  pushId: string;
  address: string;
  bearer: string;
  /** `network-required` and `bearer-required` (always equal). */
  required: boolean;
  network?: string;
  priority?: PapPriority;
  deliveryMethod?: PapDeliveryMethod;
  deliverBefore?: Date;
  deliverAfter?: Date;
  sourceReference?: string;
  notifyTo?: string;
  progressNotesRequested: boolean;
  /** PAP 2.x only. */
  replacePushId?: string;
  replaceMethod?: 'pending-only' | 'all';
}

function notPossible(message: string, field: string): AgentError {
  return new AgentError(ErrorCodes.HAND_BACK_NOT_POSSIBLE, message, field);
}

/** Builds and checks the model; HAND_BACK_NOT_POSSIBLE when no valid hand-back can be written. */
export function handBackModel(push: PushSubmission, input: HandBackInput): HandBackModel {
  const bearer = input.bearerHint.trim();
  if (!QOS_NAME.test(bearer)) throw notPossible(`bearer hint ${JSON.stringify(bearer.slice(0, 80))} is not a QoS bearer name`, 'bearer');
  const piBearer = push.qos.bearer?.trim();
  const required = push.qos.bearerRequired && piBearer !== undefined && piBearer.toLowerCase() === bearer.toLowerCase();
  const piNetwork = push.qos.network?.trim();
  const network = piNetwork ?? (required ? (input.network ?? ANY_NETWORK) : undefined);
  if (network !== undefined && !QOS_NAME.test(network))
    throw notPossible(`network ${JSON.stringify(network.slice(0, 80))} is not a QoS network name`, 'network');
  const v2 = input.papVersion !== '1.0';
  return {
    papVersion: input.papVersion,
    pushId: input.pushId ?? push.pushId,
    address: input.address,
    bearer,
    required,
    ...(network !== undefined ? { network } : {}),
    ...(push.qos.priority ? { priority: push.qos.priority } : {}),
    ...(push.qos.deliveryMethod ? { deliveryMethod: push.qos.deliveryMethod } : {}),
    ...(push.deliverBefore ? { deliverBefore: push.deliverBefore } : {}),
    ...(push.deliverAfter ? { deliverAfter: push.deliverAfter } : {}),
    ...(push.sourceReference !== undefined ? { sourceReference: push.sourceReference } : {}),
    ...(input.notifyTo !== undefined ? { notifyTo: input.notifyTo } : {}),
    progressNotesRequested: push.progressNotesRequested,
    ...(v2 && push.replacePushId !== undefined ? { replacePushId: push.replacePushId } : {}),
    ...(v2 && push.replaceMethod !== undefined ? { replaceMethod: push.replaceMethod } : {}),
  };
}

/** The control entity for a model: a PAP document of the model's version. */
export function handBackControlEntity(model: HandBackModel): string {
  const attributes = {
    'push-id': model.pushId,
    'replace-push-id': model.replacePushId,
    'replace-method': model.replaceMethod,
    'deliver-before-timestamp': model.deliverBefore ? formatPapTime(model.deliverBefore) : undefined,
    'deliver-after-timestamp': model.deliverAfter ? formatPapTime(model.deliverAfter) : undefined,
    'source-reference': model.sourceReference,
    'ppg-notify-requested-to': model.notifyTo,
    'progress-notes-requested': model.progressNotesRequested ? 'true' : undefined,
  };
  const flag = model.required ? 'true' : 'false';
  const qos = xmlElement('quality-of-service', {
    priority: model.priority,
    'delivery-method': model.deliveryMethod,
    network: model.network,
    'network-required': flag,
    bearer: model.bearer,
    'bearer-required': flag,
  });
  const children = [xmlElement('address', { 'address-value': model.address }), qos];
  return papDocument(xmlElement('push-message', attributes, children), model.papVersion as PapVersion);
}

function withoutContentType(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => name.toLowerCase() !== 'content-type'));
}

/** Builds the hand-back body; `contentType` is `multipart/related; boundary=…; type="application/xml"`. */
export function buildHandBackPush(
  push: PushSubmission,
  input: HandBackInput,
  options: { boundary?: string } = {},
): { contentType: string; body: Buffer; model: HandBackModel } {
  const model = handBackModel(push, input);
  const control = handBackControlEntity(model);
  const parts: MimePart[] = [
    { headers: { 'content-type': 'application/xml; charset=UTF-8' }, body: Buffer.from(control, 'utf8') },
    { headers: { ...withoutContentType(push.content.headers), 'content-type': push.content.contentType }, body: push.content.body },
  ];
  if (push.capabilities) parts.push({ headers: { 'content-type': 'application/rdf+xml' }, body: push.capabilities });
  const built = buildMultipartRelated(parts, options.boundary, { type: 'application/xml' });
  return { contentType: built.contentType, body: built.body, model };
}

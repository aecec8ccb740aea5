/**
 * PAP responses and notifications the agent sends (PAP 2.0 §9.3–§9.10),
 * with the DOCTYPE of the version the request used, all values XML-escaped. The hand-back push lives
 * in `hand-back-push.ts` and is re-exported here.
 */
import { describePapCode, type MessageState } from './pap-codes.js';
import type { PapQualityOfService, PapVersion } from './pap-types.js';
import { formatPapTime, papDocument, qosElement, xmlElement } from './pap-xml-writer.js';

export { buildHandBackPush, handBackModel, type HandBackInput, type HandBackModel } from './hand-back-push.js';
export { formatPapTime, qosElement } from './pap-xml-writer.js';

interface Versioned {
  /** The version of the request being answered (default 2.0). */
  version?: PapVersion;
}

export interface PushResponseInput extends Versioned {
  pushId: string;
  code: number;
  /** Defaults to the standard description of `code`. */
  desc?: string;
  senderAddress?: string;
  senderName?: string;
  replyTime: Date;
  /** Only when the PI set `progress-notes-requested="true"` (PAP 2.0 §9.3.2). */
  progressNote?: { stage: string; note?: string; time?: Date };
}

/** `<push-response>` (PAP 2.0 §9.3): `progress-note*` then `response-result`. */
export function buildPushResponse(input: PushResponseInput): string {
  const children: string[] = [];
  if (input.progressNote) {
    const { stage, note, time } = input.progressNote;
    children.push(xmlElement('progress-note', { stage, note, time: time ? formatPapTime(time) : undefined }));
  }
  children.push(xmlElement('response-result', { code: input.code, desc: input.desc ?? describePapCode(input.code) }));
  const attributes = {
    'push-id': input.pushId,
    'sender-address': input.senderAddress,
    'sender-name': input.senderName,
    'reply-time': formatPapTime(input.replyTime),
  };
  return papDocument(xmlElement('push-response', attributes, children), input.version);
}

export interface BadMessageInput extends Versioned {
  /** 2000 (bad request) or 3002 (version not supported), PAP 2.0 §9.10. */
  code: number;
  desc?: string;
  /** The offending request (or part of it); truncated to `maxFragmentChars` and escaped. */
  badMessageFragment: string | Buffer;
  maxFragmentChars?: number;
}

/** `<badmessage-response>` (PAP 2.0 §9.10) for a request that could not be parsed at all. */
export function buildBadMessageResponse(input: BadMessageInput): string {
  const max = input.maxFragmentChars ?? 256;
  const raw =
    typeof input.badMessageFragment === 'string'
      ? input.badMessageFragment
      : input.badMessageFragment.subarray(0, max * 4).toString('utf8');
  const fragment = Array.from(raw).slice(0, max).join('');
  const attributes = { code: input.code, desc: input.desc ?? describePapCode(input.code), 'bad-message-fragment': fragment };
  return papDocument(xmlElement('badmessage-response', attributes), input.version);
}

export interface CancelResultInput {
  code: number;
  desc?: string;
  /** The addresses this result applies to; none = all of the push. */
  addresses?: string[];
}

function addressElements(addresses: readonly string[] | undefined): string[] {
  return (addresses ?? []).map((address) => xmlElement('address', { 'address-value': address }));
}

/** `<cancel-response>` (PAP 2.0 §9.5): one `cancel-result` per outcome. */
export function buildCancelResponse(input: Versioned & { pushId: string; results: CancelResultInput[] }): string {
  const results = input.results.map((result) =>
    xmlElement(
      'cancel-result',
      { code: result.code, desc: result.desc ?? describePapCode(result.code) },
      addressElements(result.addresses),
    ),
  );
  return papDocument(xmlElement('cancel-response', { 'push-id': input.pushId }, results), input.version);
}

export interface StatusQueryResultInput {
  address?: string;
  messageState: MessageState;
  code: number;
  desc?: string;
  eventTime?: Date;
}

/** `<statusquery-response>` (PAP 2.0 §9.7): one `statusquery-result` per address. */
export function buildStatusQueryResponse(
  input: Versioned & { pushId: string; results: StatusQueryResultInput[]; senderAddress?: string; senderName?: string },
): string {
  const results = input.results.map((result) =>
    xmlElement(
      'statusquery-result',
      {
        'event-time': result.eventTime ? formatPapTime(result.eventTime) : undefined,
        'message-state': result.messageState,
        code: result.code,
        desc: result.desc ?? describePapCode(result.code),
      },
      addressElements(result.address !== undefined ? [result.address] : []),
    ),
  );
  const attributes = { 'push-id': input.pushId, 'sender-address': input.senderAddress, 'sender-name': input.senderName };
  return papDocument(xmlElement('statusquery-response', attributes, results), input.version);
}

export interface ResultNotificationInput extends Versioned {
  pushId: string;
  address: string;
  messageState: MessageState;
  code: number;
  desc?: string;
  eventTime: Date;
  receivedTime: Date;
  senderAddress?: string;
  senderName?: string;
  /** Echoed when the request had one (PAP 2.0 §9.8). */
  qos?: PapQualityOfService;
}

/** `<resultnotification-message>` (PAP 2.0 §9.8), POSTed to `ppg-notify-requested-to`. */
export function buildResultNotification(input: ResultNotificationInput): string {
  const attributes = {
    'push-id': input.pushId,
    'sender-address': input.senderAddress,
    'sender-name': input.senderName,
    'received-time': formatPapTime(input.receivedTime),
    'event-time': formatPapTime(input.eventTime),
    'message-state': input.messageState,
    code: input.code,
    desc: input.desc ?? describePapCode(input.code),
  };
  const children = [xmlElement('address', { 'address-value': input.address })];
  if (input.qos) children.push(qosElement(input.qos));
  return papDocument(xmlElement('resultnotification-message', attributes, children), input.version);
}

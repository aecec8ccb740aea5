/**
 * The reference the template-built PAP answers are checked against: the answers as the agent built them
 * before, as element trees through `xmlElement`/`papDocument` (indentation by re-indenting children).
 * test/unit/pap-builder-templates.test.ts asserts the templates produce these bytes exactly.
 */
import type {
  BadMessageInput,
  PushResponseInput,
  ResultNotificationInput,
  StatusQueryResultInput,
  CancelResultInput,
} from '../../src/push/pap/pap-builder.js';
import { describePapCode } from '../../src/push/pap/pap-codes.js';
import type { PapVersion } from '../../src/push/pap/pap-types.js';
import { formatPapTime, papDocument, qosElement, xmlElement } from '../../src/push/pap/pap-xml-writer.js';

export function treePushResponse(input: PushResponseInput): string {
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

export function treeBadMessageResponse(input: BadMessageInput): string {
  const max = input.maxFragmentChars ?? 256;
  const raw =
    typeof input.badMessageFragment === 'string'
      ? input.badMessageFragment
      : input.badMessageFragment.subarray(0, max * 4).toString('utf8');
  const fragment = Array.from(raw).slice(0, max).join('');
  const attributes = { code: input.code, desc: input.desc ?? describePapCode(input.code), 'bad-message-fragment': fragment };
  return papDocument(xmlElement('badmessage-response', attributes), input.version);
}

function addressElements(addresses: readonly string[] | undefined): string[] {
  return (addresses ?? []).map((address) => xmlElement('address', { 'address-value': address }));
}

export function treeCancelResponse(input: { version?: PapVersion; pushId: string; results: CancelResultInput[] }): string {
  const results = input.results.map((result) =>
    xmlElement(
      'cancel-result',
      { code: result.code, desc: result.desc ?? describePapCode(result.code) },
      addressElements(result.addresses),
    ),
  );
  return papDocument(xmlElement('cancel-response', { 'push-id': input.pushId }, results), input.version);
}

export function treeStatusQueryResponse(input: {
  version?: PapVersion;
  pushId: string;
  results: StatusQueryResultInput[];
  senderAddress?: string;
  senderName?: string;
}): string {
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

export function treeResultNotification(input: ResultNotificationInput): string {
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

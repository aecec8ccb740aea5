/**
 * PAP responses and notifications the agent sends (PAP 2.0 §9.3–§9.10),
 * with the DOCTYPE of the version the request used, all values XML-escaped. The hand-back push lives
 * in `hand-back-push.ts` and is re-exported here.
 *
 * One of these is built for every push (its answer, its result notification), so they are templates:
 * fixed markup concatenated with escaped values ({@link xmlAttribute}), no element tree and no
 * re-indenting. The layout — two spaces per level, `/>` for empty elements, one line per element — is
 * byte for byte what the element-tree writer (`xmlElement`) produces; a test holds them equal.
 */
import { describePapCode, type MessageState } from './pap-codes.js';
import type { PapQualityOfService, PapVersion } from './pap-types.js';
import { DOCUMENT_TAIL, documentHead, formatPapTime, qosElement, xmlAttribute } from './pap-xml-writer.js';

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
  let progress = '';
  if (input.progressNote) {
    const { stage, note, time } = input.progressNote;
    progress = `    <progress-note${xmlAttribute('stage', stage)}${xmlAttribute('note', note)}${xmlAttribute('time', time ? formatPapTime(time) : undefined)}/>\n`;
  }
  return (
    documentHead(input.version) +
    `  <push-response${xmlAttribute('push-id', input.pushId)}${xmlAttribute('sender-address', input.senderAddress)}` +
    `${xmlAttribute('sender-name', input.senderName)}${xmlAttribute('reply-time', formatPapTime(input.replyTime))}>\n` +
    progress +
    `    <response-result${codeAndDesc(input.code, input.desc)}/>\n` +
    '  </push-response>' +
    DOCUMENT_TAIL
  );
}

/** ` code="…" desc="…"`, the description defaulting to the code's standard one. */
function codeAndDesc(code: number, desc: string | undefined): string {
  return `${xmlAttribute('code', code)}${xmlAttribute('desc', desc ?? describePapCode(code))}`;
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
  return (
    documentHead(input.version) +
    `  <badmessage-response${codeAndDesc(input.code, input.desc)}${xmlAttribute('bad-message-fragment', fragment)}/>` +
    DOCUMENT_TAIL
  );
}

export interface CancelResultInput {
  code: number;
  desc?: string;
  /** The addresses this result applies to; none = all of the push. */
  addresses?: string[];
}

/** `<address>` lines at the third level (inside a result inside the message). */
function addressLines(addresses: readonly string[] | undefined): string {
  let lines = '';
  for (const address of addresses ?? []) lines += `      <address${xmlAttribute('address-value', address)}/>\n`;
  return lines;
}

/**
 * A result element at the second level: `<name …/>` when it has no addresses, else opened, the
 * address lines, closed.
 */
function resultElement(name: string, attributes: string, addresses: readonly string[] | undefined): string {
  const inner = addressLines(addresses);
  return inner === '' ? `    <${name}${attributes}/>\n` : `    <${name}${attributes}>\n${inner}    </${name}>\n`;
}

/** The message element at the first level: empty (`/>`) or around its result lines. */
function messageElement(name: string, attributes: string, inner: string): string {
  return inner === '' ? `  <${name}${attributes}/>` : `  <${name}${attributes}>\n${inner}  </${name}>`;
}

/** `<cancel-response>` (PAP 2.0 §9.5): one `cancel-result` per outcome. */
export function buildCancelResponse(input: Versioned & { pushId: string; results: CancelResultInput[] }): string {
  let results = '';
  for (const result of input.results) results += resultElement('cancel-result', codeAndDesc(result.code, result.desc), result.addresses);
  return documentHead(input.version) + messageElement('cancel-response', xmlAttribute('push-id', input.pushId), results) + DOCUMENT_TAIL;
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
  let results = '';
  for (const result of input.results) {
    const attributes =
      xmlAttribute('event-time', result.eventTime ? formatPapTime(result.eventTime) : undefined) +
      xmlAttribute('message-state', result.messageState) +
      codeAndDesc(result.code, result.desc);
    results += resultElement('statusquery-result', attributes, result.address !== undefined ? [result.address] : undefined);
  }
  const attributes =
    xmlAttribute('push-id', input.pushId) +
    xmlAttribute('sender-address', input.senderAddress) +
    xmlAttribute('sender-name', input.senderName);
  return documentHead(input.version) + messageElement('statusquery-response', attributes, results) + DOCUMENT_TAIL;
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
  return (
    documentHead(input.version) +
    `  <resultnotification-message${xmlAttribute('push-id', input.pushId)}${xmlAttribute('sender-address', input.senderAddress)}` +
    `${xmlAttribute('sender-name', input.senderName)}${xmlAttribute('received-time', formatPapTime(input.receivedTime))}` +
    `${xmlAttribute('event-time', formatPapTime(input.eventTime))}${xmlAttribute('message-state', input.messageState)}` +
    `${codeAndDesc(input.code, input.desc)}>\n` +
    `    <address${xmlAttribute('address-value', input.address)}/>\n` +
    (input.qos ? `    ${qosElement(input.qos)}\n` : '') +
    '  </resultnotification-message>' +
    DOCUMENT_TAIL
  );
}

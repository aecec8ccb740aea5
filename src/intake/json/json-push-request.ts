/**
 * The JSON push API's request (`POST /v1/pushes`, docs/openapi.yaml): untrusted JSON in, a typed
 * {@link PushSubmission} plus the equivalent PAP push-message bytes out. The bytes are what the store
 * persists, so a resume after a restart re-parses them exactly like a PAP intake (PAP 2.0 §9.2, §8).
 * Pure: no I/O.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { AgentError, ErrorCodes } from '../../errors.js';
import { pushEventAppFor } from '../../push/omna-app-ids.js';
import { headerTextProblem, isMediaType, MAX_BEARER_CHARS, urlProblem } from '../../push/pap/header-safe.js';
import { buildMultipartRelated } from '../../push/pap/multipart.js';
import type { PushSubmission } from '../../push/pap/pap-types.js';
import { formatPapTime, papDocument, qosElement, xmlElement } from '../../push/pap/pap-xml-writer.js';

/**
 * A SIP/SIPS/tel URI, or a phone number (`+15551234567`, visual separators allowed). A SIP URI keeps to
 * the characters a SIP header can carry (RFC 3261 §25.1): it becomes the MESSAGE's Request-URI and To.
 */
const TARGET =
  /^(?:(?:sips?):[A-Za-z0-9\-_.!~*'()%;/?:&=+$,[\]]+@[A-Za-z0-9\-_.!~*'()%;/?:@&=+$,[\]]+|tel:\+?[0-9][0-9().-]*|\+?[0-9][0-9 ().-]*)$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** A value that ends up in a header (header-safe.ts): refine with the grammar's own message. */
const headerText = (maxChars: number) =>
  z
    .string()
    .min(1)
    .superRefine((value, ctx) => {
      const problem = headerTextProblem(value, maxChars);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    });

const httpUrl = z.url({ protocol: /^https?$/ }).superRefine((value, ctx) => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return; // z.url() has reported it already
  }
  const problem = urlProblem(value, url);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});
const timestamp = z.iso.datetime({ offset: true }).transform((value) => new Date(value));

/** X-Wap-Application-Id: header text that can also be an Accept-Contact feature-tag value (RFC 3840 §9). */
const appId = headerText(256).superRefine((value, ctx) => {
  try {
    pushEventAppFor(value);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
  }
});

export const jsonPushRequestSchema = z
  .object({
    target: z.string().regex(TARGET, 'must be a sip:/sips:/tel: URI or a phone number'),
    content: z.union(
      [z.object({ text: z.string() }).strict(), z.object({ base64: z.string().regex(BASE64, 'must be base64 (RFC 4648 §4)') }).strict()],
      { error: 'must be { "text": … } or { "base64": … }' },
    ),
    contentType: z.string().refine(isMediaType, 'must be a media type in US-ASCII, e.g. text/plain or text/plain; charset=utf-8'),
    appId: appId.optional(),
    pushId: z
      .string()
      .min(1)
      .max(128)
      .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces')
      .optional(),
    notifyUrl: httpUrl.optional(),
    deliverBefore: timestamp.optional(),
    deliverAfter: timestamp.optional(),
    bearer: headerText(MAX_BEARER_CHARS).optional(),
  })
  .strict();

export type JsonPushRequest = z.output<typeof jsonPushRequestSchema>;

export interface MappedJsonPush {
  submission: PushSubmission;
  /** `multipart/related; …` of {@link body}. */
  contentType: string;
  /** The PAP push-message the submission is equivalent to (persisted for resume). */
  body: Buffer;
}

/** Formats the first zod issue as one field path and message. */
function firstIssue(error: z.ZodError): { field: string; message: string } {
  const issue = error.issues[0];
  const path = (issue?.path ?? []).map(String);
  if (issue?.code === 'unrecognized_keys') return { field: [...path, issue.keys[0] ?? ''].join('.'), message: 'unknown field' };
  return { field: path.join('.') || '(body)', message: issue?.message ?? 'invalid' };
}

/** Validates the JSON body; JSON_PUSH_INVALID with `field` naming the member at fault. */
export function parseJsonPushRequest(raw: unknown): JsonPushRequest {
  const result = jsonPushRequestSchema.safeParse(raw);
  if (!result.success) {
    const { field, message } = firstIssue(result.error);
    throw new AgentError(ErrorCodes.JSON_PUSH_INVALID, `${field}: ${message}`, field);
  }
  return result.data;
}

/** PAP address-value for a target (PPG Service §7; a SIP URI rides in `TYPE=USER`, %-escaped). */
export function papAddressForTarget(target: string): string {
  if (/^sips?:/i.test(target)) return `WAPPUSH=${encodeURIComponent(target)}/TYPE=USER`;
  const number = target.replace(/^tel:/i, '').replace(/[ ().-]/g, '');
  return `WAPPUSH=${number}/TYPE=PLMN`;
}

/** Maps a validated request onto the PAP pipeline's types and bytes. */
export function mapJsonPush(request: JsonPushRequest, newPushId: () => string = randomUUID): MappedJsonPush {
  const pushId = request.pushId ?? `json-${newPushId()}`;
  const address = papAddressForTarget(request.target);
  const qos = { bearerRequired: false, networkRequired: false, ...(request.bearer !== undefined ? { bearer: request.bearer } : {}) };
  const body = 'text' in request.content ? Buffer.from(request.content.text, 'utf8') : Buffer.from(request.content.base64, 'base64');
  const headers: Record<string, string> = { 'content-type': request.contentType };
  if (request.appId !== undefined) headers['x-wap-application-id'] = request.appId;

  // PAP timestamps have whole seconds; round here so the submission equals what a resume re-parses.
  const wholeSeconds = (date: Date | undefined) => (date === undefined ? undefined : new Date(Math.floor(date.getTime() / 1000) * 1000));
  const deliverBefore = wholeSeconds(request.deliverBefore);
  const deliverAfter = wholeSeconds(request.deliverAfter);
  const submission: PushSubmission = {
    pushId,
    papVersion: '2.0',
    addresses: [address],
    qos,
    progressNotesRequested: false,
    content: { contentType: request.contentType, headers, body },
    ...(deliverBefore ? { deliverBefore } : {}),
    ...(deliverAfter ? { deliverAfter } : {}),
    ...(request.notifyUrl !== undefined ? { notifyTo: request.notifyUrl } : {}),
  };
  const message = xmlElement(
    'push-message',
    {
      'push-id': pushId,
      'deliver-before-timestamp': deliverBefore ? formatPapTime(deliverBefore) : undefined,
      'deliver-after-timestamp': deliverAfter ? formatPapTime(deliverAfter) : undefined,
      'ppg-notify-requested-to': request.notifyUrl,
    },
    [xmlElement('address', { 'address-value': address }), qosElement(qos)],
  );
  const built = buildMultipartRelated(
    [
      { headers: { 'content-type': 'application/xml; charset=UTF-8' }, body: Buffer.from(papDocument(message, '2.0'), 'utf8') },
      { headers, body },
    ],
    undefined,
    { type: 'application/xml' },
  );
  return { submission, contentType: built.contentType, body: built.body };
}

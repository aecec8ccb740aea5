/**
 * How an intake reply reads outside PAP: the JSON push API's outcome and the metrics' outcome label.
 * The push path answers in PAP (PAP 2.0 §9.3 push-response / §9.10 badmessage-response); this maps
 * its `code` onto accepted (1001), handed-back (3010 with the bearer hint) or rejected (anything else).
 */
import { BEARER_HINT_HEADER, type IntakeReply } from '../../push/push-service.js';
import { describePapCode, PapCode } from '../../push/pap/pap-codes.js';
import { parsePapResponse } from '../../push/pap/pap-response-parser.js';

export type IntakeOutcome = 'accepted' | 'handed-back' | 'rejected';

export interface IntakeResult {
  outcome: IntakeOutcome;
  papCode: number;
  bearerHint?: string;
  reason: string;
  /** The HTTP status the JSON API answers with. */
  httpStatus: number;
}

function headerValue(headers: Record<string, string>, name: string): string | undefined {
  const wanted = name.toLowerCase();
  return Object.entries(headers).find(([key]) => key.toLowerCase() === wanted)?.[1];
}

/** Cheap label for metrics: no XML parsing (202 → accepted, a bearer hint → handed-back). */
export function intakeOutcome(reply: IntakeReply): IntakeOutcome {
  if (reply.httpStatus === 202) return 'accepted';
  return headerValue(reply.headers, BEARER_HINT_HEADER) !== undefined ? 'handed-back' : 'rejected';
}

/** JSON API status for a refusal: 409 duplicate push-id, 503 overloaded, 422 address, 403 forbidden, else 400. */
function rejectionStatus(code: number): number {
  if (code === PapCode.FORBIDDEN) return 403;
  if (code === PapCode.DUPLICATE_PUSH_ID) return 409;
  if (code === PapCode.SERVICE_UNAVAILABLE) return 503;
  if (code === PapCode.ADDRESS_ERROR || code === PapCode.ADDRESS_NOT_FOUND) return 422;
  if (code >= 4000) return 500;
  return 400;
}

/** Reads the PAP answer in `reply` into the JSON API's terms. */
export function describeIntakeReply(reply: IntakeReply): IntakeResult {
  let code: number = reply.httpStatus === 202 ? PapCode.ACCEPTED_FOR_PROCESSING : PapCode.INTERNAL_SERVER_ERROR;
  let desc: string | undefined;
  try {
    const parsed = parsePapResponse(Buffer.from(reply.body, 'utf8'), reply.contentType);
    if (parsed.code !== undefined) code = parsed.code;
    desc = parsed.desc;
  } catch {
    // The push path always answers in PAP; an unreadable answer keeps the status-derived code.
  }
  const reason = desc ?? describePapCode(code);
  const bearerHint = headerValue(reply.headers, BEARER_HINT_HEADER);
  if (code === PapCode.ACCEPTED_FOR_PROCESSING) return { outcome: 'accepted', papCode: code, reason, httpStatus: 202 };
  if (code === PapCode.REQUIRED_BEARER_NOT_AVAILABLE && bearerHint !== undefined) {
    return { outcome: 'handed-back', papCode: code, bearerHint, reason, httpStatus: 200 };
  }
  return { outcome: 'rejected', papCode: code, reason, httpStatus: rejectionStatus(code) };
}

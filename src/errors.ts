/**
 * The error catalogue: every expected failure the agent reports has a stable code here, with a one-line
 * summary and, where they apply, the PAP status code it answers with (PAP 2.x status code table), the
 * HTTP status of the JSON/admin answer that carries it, the HTTP status the PAP route answers with, and
 * its SIP meaning (the status the agent sends, or the status received that leads to it).
 * Every code is explained for operators and PIs in docs/errors.md (a unit test keeps the two in step).
 *
 * Tests assert on `err.code`, never on message text. Codes never change meaning once released.
 * To add a code: append one entry to `CATALOGUE` (keep the groups), then document it in docs/errors.md.
 * This file sits at the bottom of the layers: it imports nothing.
 */

/** What a SIP status has to do with a code: the agent sends it, or received it (and then this code applies). */
export interface SipMeaning {
  readonly status: number;
  readonly direction: 'sent' | 'received';
  /** Further received statuses that lead to the same code (e.g. 404/410/604 next to 480). */
  readonly alsoFor?: readonly number[];
}

/** One catalogue entry (its code is its key in `CATALOGUE`). */
export interface ErrorSpec {
  /** One line: what went wrong. */
  readonly summary: string;
  /** PAP status code (push-response, badmessage-response, cancel/statusquery result, result notification). */
  readonly pap?: number;
  /** HTTP status of a JSON API or admin answer whose `error` (or outcome) is this code. */
  readonly http?: number;
  /** HTTP status the PAP route (`intake.papPath`) answers with when this is its answer. */
  readonly papHttp?: number;
  readonly sip?: SipMeaning;
}

const sent = (status: number): SipMeaning => ({ status, direction: 'sent' });
const received = (status: number, ...alsoFor: number[]): SipMeaning =>
  alsoFor.length > 0 ? { status, direction: 'received', alsoFor } : { status, direction: 'received' };

const CATALOGUE = {
  // ── Start-up: configuration, profiles, store, ports (the process refuses to start) ──
  CONFIG_INVALID: { summary: 'Configuration file or environment override failed validation.' },
  PROFILE_INVALID: { summary: 'A sip-profile failed validation (also: message.extraHeaders naming a header the agent owns).', pap: 3000 },
  STORE_SCHEMA_UNSUPPORTED: { summary: 'The push database was written by a newer agent (schema version above what this one knows).' },
  STORE_LOCKED: { summary: "Another agent holds the push store's lock (`<store.path>.lock`): one writer per store." },
  PORT_IN_USE: {
    summary: 'A configured listen port (HTTP or SIP) is already in use; the message names the field and its `SPA__…` variable.',
  },

  // ── Documents received from the SIP core ──
  PIDF_INVALID: { summary: 'Presence document could not be parsed (malformed, too large, DOCTYPE/entities refused).' },
  REGINFO_INVALID: { summary: 'Registration document (RFC 3680 reginfo) could not be parsed (malformed, too large, DOCTYPE refused).' },

  // ── PAP intake: the request itself (PAP 2.0 §9.10 badmessage-response, HTTP 400) ──
  PAP_INVALID: { summary: 'PAP control entity could not be parsed.', pap: 2000, http: 400, papHttp: 400 },
  PAP_VERSION: { summary: 'PAP version not supported.', pap: 3002, papHttp: 400 },
  MULTIPART_INVALID: { summary: 'multipart/related body could not be parsed.', pap: 2000, http: 400, papHttp: 400 },
  PAP_NOT_IMPLEMENTED: {
    summary: 'A PAP operation this agent does not implement, e.g. `ccq-message`.',
    pap: 3001,
    papHttp: 400,
  },
  BODY_TOO_LARGE: {
    summary: 'Request body over `http.bodyLimitBytes` (HTTP 413; on the PAP route also a PAP 2000 badmessage).',
    pap: 2000,
    http: 413,
    papHttp: 413,
  },

  // ── Push intake: refusals of a well-formed push (PAP 2.0 §9.3 push-response, HTTP 200 on the PAP route) ──
  ADDRESS_INVALID: {
    summary: 'An address that is not valid: a PAP client address or an admin `aor`; `field` names it.',
    pap: 2002,
    http: 400,
  },
  ADDRESS_NOT_MAPPED: {
    summary: "A push refused because its address cannot be mapped to a SIP AOR under the profile's address rules.",
    pap: 2002,
    http: 422,
    papHttp: 200,
  },
  MULTIPLE_ADDRESSES: { summary: 'More than one address in a push-message: one address per push.', pap: 3005, http: 400, papHttp: 200 },
  DUPLICATE_PUSH_ID: { summary: 'A push-id already exists.', pap: 2007, http: 409, papHttp: 200 },
  REPLACEMENT_NOT_SUPPORTED: {
    summary: 'A push-message with `replace-push-id`: replacement is not supported.',
    pap: 3011,
    http: 400,
    papHttp: 200,
  },
  DELIVERY_WINDOW_INVALID: {
    summary: 'deliver-before-timestamp already past, or not later than deliver-after-timestamp.',
    pap: 2000,
    http: 400,
    papHttp: 200,
  },
  NOTIFY_DESTINATION_FORBIDDEN: {
    summary: 'ppg-notify-requested-to is not an allowed notification destination for this PI.',
    pap: 2001,
    http: 403,
    papHttp: 200,
  },
  SERVICE_UNAVAILABLE: {
    summary: 'Intake refused because the agent is overloaded or shutting down (Retry-After).',
    pap: 4001,
    http: 503,
    papHttp: 503,
  },
  STORE_UNWRITABLE: {
    summary: 'Intake refused because the push store cannot write (disk full or failing); try again later.',
    pap: 4001,
    http: 503,
    papHttp: 503,
  },
  SCHEDULE_FULL: {
    summary: 'Intake refused: `limits.maxScheduled` pushes are already waiting for their deliver-after time.',
    pap: 4001,
    http: 503,
    papHttp: 503,
  },
  PUSH_NOT_PERSISTED: {
    summary: 'The push could not be written to the store (an unexpected store failure).',
    pap: 4000,
    http: 500,
    papHttp: 200,
  },
  BEARER_NOT_AVAILABLE: {
    summary: 'SIP cannot carry this push now: handed back to the PPG with a bearer hint (an outcome, not a fault).',
    pap: 3010,
    papHttp: 200,
    sip: received(480),
  },
  HAND_BACK_NOT_POSSIBLE: {
    summary:
      'No hand-back the PPG could act on can be written for this push (e.g. an SMS hint and no MSISDN known); `field` names what is missing.',
  },
  BODY_NOT_CARRIED: { summary: 'A body carried through an engine that cannot carry it (e.g. binary over drachtio).' },

  // ── Cancel, status query and the push's end state (PAP result codes) ──
  PUSH_NOT_FOUND: {
    summary: 'No push with this push-id is known (or it belongs to another PI: the same answer either way).',
    pap: 2004,
    http: 404,
    papHttp: 200,
  },
  CANCELLATION_NOT_POSSIBLE: { summary: 'cancel-message for a push already on the wire or finished.', pap: 2008, papHttp: 200 },
  PUSH_STATE_CONFLICT: {
    summary: 'A push state change was refused: illegal transition or the record changed underneath (compare-and-set).',
  },
  PUSH_EXPIRED: { summary: 'deliver-before-timestamp passed before the push was delivered or handed back.', pap: 4000 },
  DELIVERY_UNCONFIRMED: {
    summary: 'The MESSAGE left but no final answer proves its fate (Timer F, a 408, transport lost after sending).',
    pap: 4000,
    sip: received(408),
  },
  HAND_BACK_REFUSED: { summary: 'The PPG refused the hand-back.', pap: 3010 },
  HAND_BACK_ABANDONED: { summary: 'The PPG never acknowledged the hand-back within its retry budget.', pap: 4000 },

  // ── JSON push API and ops HTTP ──
  JSON_PUSH_INVALID: { summary: 'A JSON push API request (`POST /v1/pushes`) failed validation; `field` names the member.', http: 400 },
  UNSUPPORTED_MEDIA_TYPE: {
    summary: 'A request body in a media type the route does not take (the JSON push API takes application/json).',
    http: 415,
  },
  HTTP_REQUEST_INVALID: {
    summary: 'An HTTP request the server refused before any route saw it (a malformed request line or header).',
    http: 400,
  },
  INTERNAL_ERROR: { summary: 'An unexpected failure inside a handler; logged with its stack.', pap: 3000, http: 500, papHttp: 500 },
  NOT_READY: { summary: '`/readyz`: the agent is not ready to take pushes (a check in the answer is false).', http: 503 },
  ADMIN_DISABLED: { summary: 'The admin API is off because `admin.token` is not configured.', http: 404 },
  ADMIN_UNAUTHORIZED: { summary: 'Missing or wrong `Authorization: Bearer` token on an admin or metrics route.', http: 401 },
  NOT_FOUND: { summary: 'An admin or JSON API lookup found nothing (unknown route, user not in the table or not held down).', http: 404 },
  INTAKE_UNAUTHORIZED: {
    summary: 'Intake (PAP or JSON push API) without valid per-PI credentials when `intake.auth` is set.',
    http: 401,
    papHttp: 401,
  },
  INTAKE_RATE_LIMITED: {
    summary: 'A PI went over its `intake.rateLimit` (Retry-After; on the PAP route a PAP 4001 push-response).',
    pap: 4001,
    http: 429,
    papHttp: 429,
  },

  // ── SIP: what the agent answers (RFC 3261 §21) ──
  SIP_PEER_UNTRUSTED: {
    summary: 'A request from outside `sip.trustedPeers`: answered 403 statelessly (responses are dropped).',
    sip: sent(403),
  },
  SIP_MESSAGE_TOO_LARGE: {
    summary: 'A SIP message over the engine size limit: answered 513 statelessly (RFC 3261 §21.5.11).',
    sip: sent(513),
  },
  SIP_OVERLOADED: {
    summary: 'The server-transaction table is full: answered 503 with Retry-After statelessly (RFC 3261 §21.5.4).',
    sip: sent(503),
  },
  SIP_REQUEST_INVALID: {
    summary: 'A request missing a mandatory header (or a NOTIFY without Subscription-State): answered 400.',
    sip: sent(400),
  },
  SIP_NO_DIALOG: {
    summary: 'An in-dialog request (or NOTIFY) for no dialog of this agent: answered 481 (RFC 3261 §12.2.2).',
    sip: sent(481),
  },
  SIP_METHOD_NOT_ALLOWED: { summary: 'A method the agent does not take: answered 405 with Allow.', sip: sent(405) },
  SIP_HANDLER_FAILED: { summary: 'The handler of an incoming MESSAGE/OPTIONS failed: answered 500 and logged.', sip: sent(500) },

  // ── SIP: what the agent was answered (subscriptions, RFC 6665 §4.1.2) ──
  SUBSCRIPTION_REJECTED: {
    summary: 'A SUBSCRIBE refused (403, 489 Bad Event, 603) or terminated `rejected`: watching stops; the user turns unknown.',
    sip: received(403, 489, 603),
  },
  SUBSCRIPTION_NO_RESOURCE: {
    summary: 'A SUBSCRIBE answered 404/604 or terminated `noresource`: watching stops; the user turns unreachable.',
    sip: received(404, 604),
  },
  SUBSCRIPTION_FAILED: {
    summary: 'A SUBSCRIBE (or its refresh) timed out, hit a transport error or was answered 408/480/5xx: retried with backoff.',
    sip: received(408, 480, 500, 503),
  },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof CATALOGUE;

/** `ErrorCodes.X === 'X'` for every code (existing call sites: `new AgentError(ErrorCodes.X, msg, field)`). */
export const ErrorCodes: { readonly [K in ErrorCode]: K } = Object.freeze(
  Object.fromEntries(Object.keys(CATALOGUE).map((code) => [code, code])) as { [K in ErrorCode]: K },
);

export interface CatalogueEntry extends ErrorSpec {
  readonly code: ErrorCode;
}

/** Every entry, in catalogue order. */
export const errorCatalogue: readonly CatalogueEntry[] = Object.freeze(
  (Object.entries(CATALOGUE) as [ErrorCode, ErrorSpec][]).map(([code, spec]) => Object.freeze({ code, ...spec })),
);

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(CATALOGUE, value);
}

export function errorSpecOf(code: ErrorCode): CatalogueEntry {
  const spec: ErrorSpec = CATALOGUE[code];
  return { code, ...spec };
}

export function summaryOf(code: ErrorCode): string {
  return CATALOGUE[code].summary;
}

/** The PAP status code for `code`, when it has one. */
export function papCodeOf(code: ErrorCode): number | undefined {
  return (CATALOGUE[code] as ErrorSpec).pap;
}

/** The HTTP status of a JSON/admin answer carrying `code`; `fallback` when it has none. */
export function httpStatusOf(code: ErrorCode, fallback = 500): number {
  return (CATALOGUE[code] as ErrorSpec).http ?? fallback;
}

/** The HTTP status the PAP route answers with for `code`; `fallback` when it has none. */
export function papHttpStatusOf(code: ErrorCode, fallback = 200): number {
  return (CATALOGUE[code] as ErrorSpec).papHttp ?? fallback;
}

/** The SIP status the agent sends for `code`, or the (first) status received that leads to it. */
export function sipStatusOf(code: ErrorCode): number | undefined {
  return (CATALOGUE[code] as ErrorSpec).sip?.status;
}

export function sipMeaningOf(code: ErrorCode): SipMeaning | undefined {
  return (CATALOGUE[code] as ErrorSpec).sip;
}

/** An expected failure with a stable code and, where it applies, the field at fault. */
export class AgentError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly field?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'AgentError';
  }
}

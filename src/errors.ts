/**
 * The error catalogue: every expected failure the agent reports has a stable code here. Tests assert on
 * `err.code`, never on message text. Codes never change meaning once released.
 */
export const ErrorCodes = {
  /** Configuration file or environment override failed validation. */
  CONFIG_INVALID: 'CONFIG_INVALID',
  /** A sip-profile failed validation. */
  PROFILE_INVALID: 'PROFILE_INVALID',
  /** Presence document could not be parsed (malformed, too large, DOCTYPE/entities refused). */
  PIDF_INVALID: 'PIDF_INVALID',
  /** Registration document (RFC 3680 reginfo) could not be parsed (malformed, too large, DOCTYPE refused). */
  REGINFO_INVALID: 'REGINFO_INVALID',
  /** PAP control entity could not be parsed. */
  PAP_INVALID: 'PAP_INVALID',
  /** PAP version not supported (PAP 3002). */
  PAP_VERSION: 'PAP_VERSION',
  /** multipart/related body could not be parsed. */
  MULTIPART_INVALID: 'MULTIPART_INVALID',
  /** A PAP operation this agent does not implement, e.g. `ccq-message` (PAP 3001 "Not implemented"). */
  PAP_NOT_IMPLEMENTED: 'PAP_NOT_IMPLEMENTED',
  /** A PAP client address could not be mapped to a SIP AOR (PAP 2002). */
  ADDRESS_INVALID: 'ADDRESS_INVALID',
  /** A body carried through an engine that cannot carry it (e.g. binary over drachtio). */
  BODY_NOT_CARRIED: 'BODY_NOT_CARRIED',
  /**
   * No hand-back the PPG could act on can be written for this push (e.g. an SMS hint and no MSISDN known
   * for the user, or a bearer hint that is not a QoS bearer name); `field` names what is missing.
   */
  HAND_BACK_NOT_POSSIBLE: 'HAND_BACK_NOT_POSSIBLE',
  /** A push-id already exists (PAP 2007). */
  DUPLICATE_PUSH_ID: 'DUPLICATE_PUSH_ID',
  /** A push state change was refused: illegal transition or the record changed underneath (compare-and-set). */
  PUSH_STATE_CONFLICT: 'PUSH_STATE_CONFLICT',
  /** No push with this push-id is known to the store (PAP 2004 "Push ID not found"). */
  PUSH_NOT_FOUND: 'PUSH_NOT_FOUND',
  /** The push database was written by a newer agent (schema version above what this one knows). */
  STORE_SCHEMA_UNSUPPORTED: 'STORE_SCHEMA_UNSUPPORTED',
  /** Another agent holds the push store's lock (`<store.path>.lock`): one writer per store. */
  STORE_LOCKED: 'STORE_LOCKED',
  /** A configured listen port (HTTP or SIP) is already in use; the message names the field and its `SPA__…` variable. */
  PORT_IN_USE: 'PORT_IN_USE',
  /** Intake refused because the agent is overloaded or shutting down (PAP 4001). */
  SERVICE_UNAVAILABLE: 'SERVICE_UNAVAILABLE',
  /** A JSON push API request (`POST /v1/pushes`) failed validation; `field` names the member. */
  JSON_PUSH_INVALID: 'JSON_PUSH_INVALID',
  /** The admin API is off because `admin.token` is not configured (HTTP 404). */
  ADMIN_DISABLED: 'ADMIN_DISABLED',
  /** Missing or wrong `Authorization: Bearer` token on an admin route (HTTP 401). */
  ADMIN_UNAUTHORIZED: 'ADMIN_UNAUTHORIZED',
  /** An admin or JSON API lookup found nothing (unknown user in the table, unknown push-id). */
  NOT_FOUND: 'NOT_FOUND',
  /** Intake (PAP or JSON push API) without valid per-PI credentials when `intake.auth` is set (HTTP 401). */
  INTAKE_UNAUTHORIZED: 'INTAKE_UNAUTHORIZED',
  /** A PI went over its `intake.rateLimit` (HTTP 429; on the PAP route a PAP 4001 push-response). */
  INTAKE_RATE_LIMITED: 'INTAKE_RATE_LIMITED',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

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

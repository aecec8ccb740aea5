/**
 * PAP status codes and message states (WAP-164 PAP 1.0 §9.13, WAP-247 PAP 2.0 / OMA-TS-PAP 2.x status
 * code table; docs/standards.md §2.5). Descriptions are the standard wording as PPGs send it.
 */
import { type ErrorCode, papCodeOf } from '../../errors.js';

export const PapCode = {
  OK: 1000,
  ACCEPTED_FOR_PROCESSING: 1001,
  BAD_REQUEST: 2000,
  FORBIDDEN: 2001,
  ADDRESS_ERROR: 2002,
  ADDRESS_NOT_FOUND: 2003,
  PUSH_ID_NOT_FOUND: 2004,
  CAPABILITIES_MISMATCH: 2005,
  REQUIRED_CAPABILITIES_NOT_SUPPORTED: 2006,
  DUPLICATE_PUSH_ID: 2007,
  CANCELLATION_NOT_POSSIBLE: 2008,
  INTERNAL_SERVER_ERROR: 3000,
  NOT_IMPLEMENTED: 3001,
  VERSION_NOT_SUPPORTED: 3002,
  NOT_POSSIBLE: 3003,
  CAPABILITY_MATCHING_NOT_SUPPORTED: 3004,
  MULTIPLE_ADDRESSES_NOT_SUPPORTED: 3005,
  TRANSFORMATION_FAILURE: 3006,
  DELIVERY_METHOD_NOT_POSSIBLE: 3007,
  CAPABILITIES_NOT_AVAILABLE: 3008,
  REQUIRED_NETWORK_NOT_AVAILABLE: 3009,
  REQUIRED_BEARER_NOT_AVAILABLE: 3010,
  REPLACEMENT_NOT_SUPPORTED: 3011,
  SERVICE_FAILURE: 4000,
  SERVICE_UNAVAILABLE: 4001,
  MOBILE_CLIENT_ABORTED: 5000,
} as const;

export type PapCodeValue = (typeof PapCode)[keyof typeof PapCode];

/** The standard description of each code (the `desc` attribute when nothing more specific applies). */
export const PAP_CODE_DESCRIPTIONS: Readonly<Record<PapCodeValue, string>> = {
  1000: 'OK',
  1001: 'Accepted for processing',
  2000: 'Bad request',
  2001: 'Forbidden',
  2002: 'Address error',
  2003: 'Address not found',
  2004: 'Push ID not found',
  2005: 'Capabilities mismatch',
  2006: 'Required capabilities not supported',
  2007: 'Duplicate push ID',
  2008: 'Cancellation not possible',
  3000: 'Internal server error',
  3001: 'Not implemented',
  3002: 'Version not supported',
  3003: 'Not possible',
  3004: 'Capability matching not supported',
  3005: 'Multiple addresses not supported',
  3006: 'Transformation failure',
  3007: 'Specified delivery method not possible',
  3008: 'Capabilities not available',
  3009: 'Required network not available',
  3010: 'Required bearer not available',
  3011: 'Replacement not supported',
  4000: 'Service failure',
  4001: 'Service unavailable',
  5000: 'Mobile client aborted',
};

/** The standard description of a code; codes outside the table get their class name (1xxx success, …). */
export function describePapCode(code: number): string {
  const known = (PAP_CODE_DESCRIPTIONS as Readonly<Record<number, string>>)[code];
  if (known !== undefined) return known;
  const classes: Record<number, string> = {
    1: 'Success',
    2: 'Client error',
    3: 'Server error',
    4: 'Service failure',
    5: 'Mobile client aborted',
  };
  return classes[Math.floor(code / 1000)] ?? 'Unknown';
}

/** PAP message states (statusquery-result / resultnotification-message `message-state`). */
export const MESSAGE_STATES = [
  'pending',
  'undeliverable',
  'delivered',
  'expired',
  'aborted',
  'timeout',
  'cancelled',
  'rejected',
  'unknown',
] as const;
export type MessageState = (typeof MESSAGE_STATES)[number];

/**
 * The PAP code the agent answers for an expected failure: the catalogue's (src/errors.ts, one mapping),
 * 3000 Internal server error for a code that has none.
 */
export function papCodeForError(code: ErrorCode): PapCodeValue {
  return (papCodeOf(code) as PapCodeValue | undefined) ?? PapCode.INTERNAL_SERVER_ERROR;
}

/** True when `code` is in the PAP status code table. */
export function isPapCode(code: number): code is PapCodeValue {
  return Object.hasOwn(PAP_CODE_DESCRIPTIONS, code);
}

/**
 * An intake answer as the HTTP layer sends it, and how the typed results of the push core read at the
 * edge: the outcome label (metrics, JSON API), the PAP code and the HTTP statuses, all from the error
 * catalogue (src/errors.ts).
 */
import { httpStatusOf, papHttpStatusOf, type ErrorCode } from '../../errors.js';
import type { AdmissionResult } from '../../push/admission/admission-result.js';
import { describePapCode, PapCode, papCodeForError } from '../../push/pap/pap-codes.js';

/** The intake response header that carries the bearer hint on a synchronous hand-back (never sent to the PPG's hand-back endpoint). */
export const BEARER_HINT_HEADER = 'X-Push-Bearer-Hint';

export interface IntakeReply {
  httpStatus: number;
  headers: Record<string, string>;
  contentType: string;
  body: string;
}

export type IntakeOutcome = 'accepted' | 'handed-back' | 'rejected';

/** The PAP code of an admission result (PAP 2.0 §9.3 push-response `code`). */
export function papCodeOfResult(result: AdmissionResult): number {
  if (result.kind === 'accepted') return PapCode.ACCEPTED_FOR_PROCESSING;
  if (result.kind === 'handed-back') return PapCode.REQUIRED_BEARER_NOT_AVAILABLE;
  return papCodeForError(result.code);
}

/** The PAP `desc` of a result (absent when a refusal has no words beyond its code). */
export function papDescOfResult(result: AdmissionResult): string | undefined {
  if (result.kind === 'accepted') return undefined;
  if (result.kind === 'handed-back') {
    const problem = result.problem === undefined ? '' : `; ${result.problem}`;
    return `SIP bearer not available (${result.reason}); bearer hint: ${result.hint}${problem}`;
  }
  return result.reason;
}

/** HTTP status on the PAP route: 202 accepted, 503 + Retry-After for 4001, else the catalogue's (200). */
export function papHttpStatusOfResult(result: AdmissionResult): number {
  if (result.kind === 'accepted') return 202;
  if (result.kind === 'handed-back') return 200;
  return papHttpStatusOf(result.code, 200);
}

/** HTTP status of the JSON API's answer for a refusal: the catalogue's, else 500 for PAP 4xxx and 400. */
export function jsonHttpStatusOf(code: ErrorCode): number {
  return httpStatusOf(code, papCodeForError(code) >= 4000 ? 500 : 400);
}

/** The JSON API's `reason`: the refusal's own words, else the PAP code's description. */
export function reasonOfResult(result: AdmissionResult): string {
  return papDescOfResult(result) ?? describePapCode(papCodeOfResult(result));
}

/**
 * What admission decided for one submitted push — typed, for the intake edges to render (PAP
 * push-response, JSON outcome, HTTP status); nothing here knows PAP responses or HTTP.
 */
import type { ErrorCode } from '../../errors.js';

/** A PAP progress note to add when the PI asked for progress notes (PAP 2.0 §9.3). */
export interface ProgressNote {
  stage: string;
  note?: string;
}

export type AdmissionResult =
  /** Stored durably and queued for delivery (PAP 1001). */
  | { kind: 'accepted'; pushId: string; progressNote: ProgressNote }
  /**
   * SIP will not carry it: the PPG keeps the push (PAP 3010) with `hint`. `problem` says why the PPG
   * cannot route a hand-back over `hint` for this user (e.g. no MSISDN for an SMS hint), if so.
   */
  | { kind: 'handed-back'; pushId: string; hint: string; reason: string; problem?: string; progressNote: ProgressNote }
  /** Refused: `code` is the catalogue entry (PAP code, HTTP status); `reason` absent → the code's own words. */
  | { kind: 'rejected'; pushId: string; code: ErrorCode; reason?: string; field?: string };

/**
 * What one MESSAGE attempt proves (pure). Three outcomes, because "no final answer seen" is not
 * "failed": a MESSAGE that left the agent may have reached the handset although its answer was lost.
 *
 * - `delivered`: a 2xx (RFC 3428 §7: 200 delivered, 202 accepted for later delivery).
 * - `unconfirmed`: the request left but its fate is unknown — Timer F fired (RFC 3261 §17.1.2.2), a
 *   408 (the core's own timer ran out waiting for the handset, which may have the MESSAGE), the
 *   transport failed after a first send, or any failure answer to a copy sent again after a crash
 *   (the first copy may have been delivered before the crash).
 * - `failed`: a final non-2xx answer to the first copy, or a transport error before the request left
 *   (`beforeSend`: nothing was sent, so nobody — neither the core nor the user — has it).
 */
import type { SipRequestError } from '../../sip/port.js';

export type DeliveryOutcome =
  | { kind: 'delivered'; status: number }
  | { kind: 'unconfirmed'; reason: string; status?: number; timeout: boolean }
  | { kind: 'failed'; reason: string; status?: number; beforeSend: boolean };

/** The outcome of a final response `status`; `resent` = an earlier copy may have left before a crash. */
export function outcomeOfStatus(status: number, reason: string, resent: boolean): DeliveryOutcome {
  if (status >= 200 && status < 300) return { kind: 'delivered', status };
  const text = `SIP ${status} ${reason}`.trimEnd();
  if (status === 408)
    return { kind: 'unconfirmed', reason: `${text} (the core timed out; the handset may have it)`, status, timeout: true };
  if (resent)
    return {
      kind: 'unconfirmed',
      reason: `${text} to a copy re-sent after a restart (the first copy's fate is unknown)`,
      status,
      timeout: false,
    };
  return { kind: 'failed', reason: text, status, beforeSend: false };
}

/** The outcome of a request that produced no final response. */
export function outcomeOfError(err: SipRequestError): DeliveryOutcome {
  if (err.kind === 'timeout') return { kind: 'unconfirmed', reason: 'SIP transaction timeout', timeout: true };
  if (err.requestLeft) return { kind: 'unconfirmed', reason: `SIP transport lost after sending: ${err.message}`, timeout: false };
  return { kind: 'failed', reason: `SIP transport error: ${err.message}`, beforeSend: true };
}

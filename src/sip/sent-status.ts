/**
 * The SIP statuses the agent itself sends, read from the error catalogue (src/errors.ts), which is the
 * one place that says what each refusal means as a SIP answer (RFC 3261 §21). The engines use these
 * names, never bare numbers, so the catalogue and the wire cannot drift apart.
 */
import { type ErrorCode, ErrorCodes, sipMeaningOf } from '../errors.js';

function sent(code: ErrorCode): number {
  const meaning = sipMeaningOf(code);
  if (meaning?.direction !== 'sent') throw new Error(`${code} has no SIP status the agent sends`);
  return meaning.status;
}

export const SentStatus = {
  /** 403: a request from outside `sip.trustedPeers`. */
  peerUntrusted: sent(ErrorCodes.SIP_PEER_UNTRUSTED),
  /** 513: over the engine's message size limit. */
  tooLarge: sent(ErrorCodes.SIP_MESSAGE_TOO_LARGE),
  /** 503 with Retry-After: the server-transaction table is full. */
  overloaded: sent(ErrorCodes.SIP_OVERLOADED),
  /** 400: a mandatory header missing (or a NOTIFY without Subscription-State). */
  invalid: sent(ErrorCodes.SIP_REQUEST_INVALID),
  /** 481: no dialog of ours. */
  noDialog: sent(ErrorCodes.SIP_NO_DIALOG),
  /** 405 with Allow. */
  methodNotAllowed: sent(ErrorCodes.SIP_METHOD_NOT_ALLOWED),
  /** 500: the handler of an incoming MESSAGE/OPTIONS failed. */
  handlerFailed: sent(ErrorCodes.SIP_HANDLER_FAILED),
} as const;

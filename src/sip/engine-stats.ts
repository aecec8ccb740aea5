import type { SipEngineStats } from './port.js';

/**
 * Methods counted by name (RFC 3261 and the extensions a SIP core may route); any other method a peer
 * sends counts as `other`, so the counters (and the metric labels made from them) stay bounded.
 */
const COUNTED_METHODS = new Set([
  'INVITE',
  'ACK',
  'BYE',
  'CANCEL',
  'OPTIONS',
  'REGISTER',
  'PRACK',
  'SUBSCRIBE',
  'NOTIFY',
  'PUBLISH',
  'INFO',
  'REFER',
  'MESSAGE',
  'UPDATE',
]);

export function methodLabel(method: string): string {
  return COUNTED_METHODS.has(method) ? method : 'other';
}

/** A status code as a label: 100–699 (RFC 3261 §7.2), anything else `other`. */
export function statusLabel(status: number): string {
  return Number.isInteger(status) && status >= 100 && status <= 699 ? String(status) : 'other';
}

/** Mutable counters behind {@link SipEngineStats}; `snapshot()` hands out a copy. */
export class EngineCounters {
  private readonly requestsSent: Record<string, number> = {};
  private readonly responsesReceived: Record<string, number> = {};
  private readonly requestsReceived: Record<string, number> = {};
  retransmissions = 0;
  transactionTimeouts = 0;
  junkMessages = 0;
  /** Responses matching no client transaction (RFC 3261 §17.1.3), dropped. */
  strayResponses = 0;
  /** Messages from outside `trustedPeers` (requests answered 403, responses dropped). */
  untrusted = 0;
  /** Datagrams over `sip.limits.maxHeaderBytes`/`maxBodyBytes` (answered 513 when possible). */
  oversizeMessages = 0;
  /** Requests answered 503 because `sip.limits.maxServerTransactions` were held. */
  serverTransactionsRefused = 0;

  requestSent(method: string): void {
    const key = methodLabel(method);
    this.requestsSent[key] = (this.requestsSent[key] ?? 0) + 1;
  }

  responseReceived(status: number): void {
    const key = statusLabel(status);
    this.responsesReceived[key] = (this.responsesReceived[key] ?? 0) + 1;
  }

  requestReceived(method: string): void {
    const key = methodLabel(method);
    this.requestsReceived[key] = (this.requestsReceived[key] ?? 0) + 1;
  }

  snapshot(): SipEngineStats & {
    junkMessages: number;
    strayResponses: number;
    untrusted: number;
    oversizeMessages: number;
    serverTransactionsRefused: number;
  } {
    return {
      requestsSent: { ...this.requestsSent },
      responsesReceived: { ...this.responsesReceived },
      requestsReceived: { ...this.requestsReceived },
      retransmissions: this.retransmissions,
      transactionTimeouts: this.transactionTimeouts,
      junkMessages: this.junkMessages,
      strayResponses: this.strayResponses,
      untrusted: this.untrusted,
      oversizeMessages: this.oversizeMessages,
      serverTransactionsRefused: this.serverTransactionsRefused,
    };
  }
}

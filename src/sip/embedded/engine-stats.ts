import type { SipEngineStats } from '../port.js';

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
    this.requestsSent[method] = (this.requestsSent[method] ?? 0) + 1;
  }

  responseReceived(status: number): void {
    const key = String(status);
    this.responsesReceived[key] = (this.responsesReceived[key] ?? 0) + 1;
  }

  requestReceived(method: string): void {
    this.requestsReceived[method] = (this.requestsReceived[method] ?? 0) + 1;
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

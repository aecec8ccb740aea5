/**
 * The embedded engine's resource bounds (config `sip.limits`): how large an inbound message may be, how
 * much server-transaction state it holds, and how many TCP connections it keeps and for how long. Every
 * bound has a default that fits a SIP core's normal traffic and keeps a flood's cost fixed
 * (docs/reliability.md, "SIP limits").
 */
export interface SipTcpLimits {
  /** Inbound connections held at once, all peers together; past it a new one is closed at accept. */
  maxConnections: number;
  /** Inbound connections held at once from one source address. */
  maxConnectionsPerPeer: number;
  /**
   * A message must be complete this long after its first byte arrived, or the connection is closed.
   * A deadline per message, not an idle timer: trickled bytes do not extend it.
   */
  messageTimeoutMs: number;
  /** A connection with no traffic for this long is closed. */
  idleTimeoutMs: number;
}

export interface SipLimits {
  /** Largest header block (start line + headers) accepted; past it 513 (RFC 3261 §21.5.14) or drop. */
  maxHeaderBytes: number;
  /** Largest body accepted; past it 513 on UDP, the connection closed on TCP. */
  maxBodyBytes: number;
  /** Server transactions held at once (waiting for the TU, or in Timer J); past it 503 + Retry-After. */
  maxServerTransactions: number;
  /** Bytes of encoded responses those transactions may keep for retransmissions; past it 503 too. */
  maxServerTransactionBytes: number;
  /** Retry-After (seconds) on the 503 answered past `maxServerTransactions` (RFC 3261 §21.5.4, §20.33). */
  retryAfterSeconds: number;
  tcp: SipTcpLimits;
}

export const DEFAULT_SIP_LIMITS: SipLimits = {
  maxHeaderBytes: 16 * 1024,
  maxBodyBytes: 256 * 1024,
  maxServerTransactions: 20_000,
  maxServerTransactionBytes: 32 * 1024 * 1024,
  retryAfterSeconds: 5,
  tcp: {
    maxConnections: 1024,
    maxConnectionsPerPeer: 128,
    messageTimeoutMs: 10_000,
    idleTimeoutMs: 120_000,
  },
};

export type SipLimitsInput = Partial<Omit<SipLimits, 'tcp'>> & { tcp?: Partial<SipTcpLimits> };

export function resolveSipLimits(input: SipLimitsInput = {}): SipLimits {
  return { ...DEFAULT_SIP_LIMITS, ...input, tcp: { ...DEFAULT_SIP_LIMITS.tcp, ...input.tcp } };
}

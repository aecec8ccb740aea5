/**
 * An HTTP POST the agent owes: an asynchronous hand-back to the PPG (a PAP push-message with the
 * original content and `quality-of-service bearer="<hint>"`) or a PAP `resultnotification-message` to
 * `ppg-notify-requested-to`. Kept in SQLite until it ends (acknowledged, refused or given up).
 */
export type OutboxKind = 'hand-back' | 'result-notification';

/** How an item ended: a PAP 1xxx answer, a PAP refusal, or the give-up rule (age, attempts, unbuildable). */
export type OutboxOutcome = 'acknowledged' | 'refused' | 'gave-up';

/** What a caller enqueues. */
export interface NewOutboxItem {
  kind: OutboxKind;
  url: string;
  /** The full Content-Type, including a multipart boundary when there is one. */
  contentType: string;
  /** Body bytes, POSTed byte-exact. */
  body: Buffer;
  /**
   * Extra request headers. Normally none: the HTTP client sends a deliberate set (Content-Type,
   * User-Agent, Authorization for the PPG) and a PPG may copy any other header into the push it sends
   * over the air. Never `content-type` or `content-length`; never credentials (they would be stored).
   */
  headers?: Record<string, string>;
  /** First attempt no earlier than this (ms since the epoch); default: now. */
  notBefore?: number;
}

/** One outbox row. */
export interface OutboxItem {
  id: number;
  pushId: string;
  kind: OutboxKind;
  url: string;
  contentType: string;
  headers: Record<string, string>;
  body: Buffer;
  /** Failed POSTs so far. */
  attempts: number;
  nextAttemptAt: number;
  lastError: string | undefined;
  createdAt: number;
  /** Set when the item ended (see {@link outcome}); it is never sent again. */
  doneAt: number | undefined;
  /** How it ended; undefined while pending (and for items acknowledged by an older agent). */
  outcome: OutboxOutcome | undefined;
  /** Set by {@link Outbox.park} (an operator's hold): kept, not sent, until {@link Outbox.requeue}. */
  parkedAt: number | undefined;
}

/** Outbox sizes for metrics and readiness. */
export interface OutboxStats {
  /** Waiting to be (re)sent. */
  pending: number;
  /** Held by an operator (requeue to send). */
  parked: number;
  /** Acknowledged. */
  done: number;
  /** Refused by the PPG (or the PI, for a notification). */
  refused: number;
  /** Given up by the retry rule. */
  gaveUp: number;
}

/**
 * An HTTP POST the agent owes the PPG: an asynchronous hand-back (product.md §3, a PAP push-message with
 * the original content and `quality-of-service bearer="<hint>"`) or a PAP `resultnotification-message`
 * to `ppg-notify-requested-to`. Kept in SQLite until the PPG acknowledges it.
 */
export type OutboxKind = 'hand-back' | 'result-notification';

/** What a caller enqueues. */
export interface NewOutboxItem {
  kind: OutboxKind;
  url: string;
  /** The full Content-Type, including a multipart boundary when there is one. */
  contentType: string;
  /** Body bytes, POSTed byte-exact. */
  body: Buffer;
  /** Extra request headers (e.g. the bearer hint header). Never `content-type` or `content-length`. */
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
  /** Set when the PPG acknowledged it; the item is never sent again. */
  doneAt: number | undefined;
  /** Set when it outlived the dispatcher's `maxAgeMs`: kept, not sent, until {@link Outbox.requeue}. */
  parkedAt: number | undefined;
}

/** Outbox sizes for metrics and readiness. */
export interface OutboxStats {
  /** Waiting to be (re)sent. */
  pending: number;
  /** Outlived the max age; need an operator (requeue). */
  parked: number;
  done: number;
}

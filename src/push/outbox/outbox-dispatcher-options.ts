/**
 * The outbox dispatcher's contract: its options, how an item ended (the settlement its reaction hears),
 * the give-up rule, and the counters it reports. Types only; the dispatcher is in outbox-dispatcher.ts.
 */
import type { Logger } from '../../lib/logger.js';
import type { BackoffPolicy } from '../../lib/backoff.js';
import type { PpgAnswer, PpgAnswerVerdict } from '../pap/ppg-answer.js';
import type { PushSummary } from '../store/push-record.js';
import type { PushMove } from '../store/push-store-port.js';
import type { OutboxItem, OutboxKind } from './outbox-item.js';
import type { OutboxPort } from './outbox-port.js';
import type { PpgHttpClient } from './ppg-http-client.js';

/** How an item ended, as {@link OutboxDispatcherOptions.react} hears it. */
export type OutboxSettlement =
  | { outcome: 'acknowledged'; code: number; desc: string }
  | { outcome: 'refused'; code: number; desc: string }
  | { outcome: 'gave-up'; error: string };

/** When to stop retrying an item; absent fields never stop it. */
export interface GiveUpRule {
  /** Age since the item was queued after which the next failure ends it. */
  maxAgeMs?: number;
  /** Failed attempts after which it ends. */
  maxAttempts?: number;
}

/**
 * Decides, from the ended item, how it ended and its push as stored in the same commit, how the push
 * moves (if at all): the store's `SettlementReaction` with the PPG's answer bound in.
 */
export type OutboxReaction = (item: OutboxItem, settlement: OutboxSettlement, push: PushSummary | undefined) => PushMove | undefined;

export interface OutboxDispatcherOptions {
  /** The durable outbox: SQLite's (`sqliteOutboxPort`) or PostgreSQL's (`pgOutboxPort`). */
  outbox: OutboxPort;
  logger: Logger;
  /** The HTTP client (default: one with `userAgent`, no credentials, one socket per lane slot). */
  client?: PpgHttpClient;
  /** `User-Agent` of the default client. */
  userAgent?: string;
  backoff: BackoffPolicy;
  /**
   * POSTs in flight at once, per lane (≥ 1). Hand-backs and result notifications drain in separate
   * lanes, so a PI whose notify URL hangs never delays a hand-back to the PPG. A number sets both.
   */
  concurrency: number | Record<OutboxKind, number>;
  /** Per POST, including reading the answer. A timeout counts as a failed attempt. */
  requestTimeoutMs: number;
  /**
   * Called inside the commit that ends the item; the move it returns (the pipeline moves `handing-back →
   * handed-back`, or to `hand-back-refused`, and queues the PI's notification) is applied in that same
   * commit, so it commits together with the item's ending, on either store. Keep it pure: side effects
   * belong in the move's `after`. If it (or its move, or `after`) throws, nothing of the settlement
   * commits: the item stays open, the error is logged and counted, and the settlement (the PPG's answer,
   * kept in memory — not re-POSTed) is tried again with backoff. After `maxSettleAttempts` failures the
   * item ends `gave-up` and this is called once more with that settlement; if that throws too, a
   * hand-back's push is moved to `hand-back-abandoned` directly, so it always reaches one terminal state.
   */
  react: OutboxReaction;
  /** Settlement attempts whose reaction threw before the item is given up (≥ 1). Default 5. */
  maxSettleAttempts?: number;
  /**
   * Pending items held in memory at most (bounded memory); past it they wait in the table only and
   * are read back as room frees up. Default 10000.
   */
  maxInMemory?: number;
  /** Default: retry until acknowledged or refused. */
  giveUp?: GiveUpRule;
  /** Longest sleep between looks at newly queued items (items queued without `kick()`). Default 1000. */
  pollIntervalMs?: number;
  /** Bound for `stop()` to wait for aborted POSTs to settle. Default 2000. */
  stopTimeoutMs?: number;
  /** Default: {@link judgePpgAnswer} (the PAP code decides, not the HTTP status). */
  judgeResponse?: (item: OutboxItem, response: PpgAnswer) => PpgAnswerVerdict;
  maxResponseBytes?: number;
  now?: () => number;
  random?: () => number;
}

/** Counters for metrics and tests. */
export interface OutboxDispatcherStats {
  /** Times the reaction threw (each rolled back; the settlement was tried again or given up). */
  settleFailures: number;
  /** Settlements that could not be committed at all (the store refused the write); tried again. */
  settleWriteFailures: number;
  /** Items given up because the reaction kept throwing. */
  settleGaveUp: number;
  /** Pending items held in memory now. */
  inMemory: number;
  /** True while some pending items wait in the table only (memory was full). */
  spilled: boolean;
}

/**
 * The push store port: everything the push flow (admission → delivery → outcome, cancel, status
 * query, resume) asks of durable storage. The SQLite store is one implementation
 * (store/sqlite/sqlite-push-store-port.ts); a network store (PostgreSQL) implements the same contract
 * (test/contract/push-store.contract.ts). Nothing here names a statement, a connection or a file.
 *
 * Every method is asynchronous because a network store must be; the SQLite store answers at once.
 * Writes resolve only once durable (SQLite: after the group commit's fsync), and writes commit in the
 * order they were asked for: a compare-and-set asked after another write to the same push sees it.
 *
 * Errors are `AgentError`s with stable codes: DUPLICATE_PUSH_ID, PUSH_NOT_FOUND, PUSH_STATE_CONFLICT
 * (illegal edge or failed compare-and-set) and STORE_UNWRITABLE (the storage refused the write: disk
 * full or failing, connection lost). Anything else is a defect.
 */
import type { NewOutboxItem, OutboxItem } from '../outbox/outbox-item.js';
import type { NewPushRecord, PushHistoryEntry, PushRecord, PushSummary, TransitionDetail } from './push-record.js';
import type { PushState } from './push-state.js';

export interface TransitionOptions {
  /** Compare-and-set guard: refuse unless the push is in one of these states now. */
  expectedFrom?: PushState | readonly PushState[];
  /** POSTs to queue in the same commit as the state change (hand-back, result notification). */
  outbox?: NewOutboxItem | readonly NewOutboxItem[];
}

/** A non-terminal push as a restart sees it: no body (read when the push is due). */
export interface ResumablePush {
  pushId: string;
  state: PushState;
  deliverAfter: number | undefined;
}

/** How an outbox item ended (the PPG's or notify endpoint's answer, or the give-up rule). */
export type OutboxEnding = { outcome: 'acknowledged' } | { outcome: 'refused' | 'gave-up'; error: string };

/** A state change decided while an outbox item ends, committed with that ending. */
export interface PushMove {
  to: PushState;
  detail: TransitionDetail;
  options: TransitionOptions;
  /** Runs once the move is applied (in the same commit): logging, kicking the dispatcher. */
  after?: () => void;
}

/** Decides, from the ended item and its push as stored in the same commit, how the push moves (if at all). */
export type SettlementReaction = (item: OutboxItem, push: PushSummary | undefined) => PushMove | undefined;

export interface PushStorePort {
  /** Records a newly accepted push (state `accepted`); DUPLICATE_PUSH_ID for a push-id seen before. */
  insert(rec: NewPushRecord): Promise<PushRecord>;
  /**
   * Moves a push to `to` as one atomic compare-and-set with its history row and any `opts.outbox`
   * items. PUSH_NOT_FOUND, or PUSH_STATE_CONFLICT for an edge push-state.ts forbids or a failed guard.
   * Resolves with the push as it is now, without its body (a store need not read the body back).
   */
  transition(pushId: string, to: PushState, detail?: TransitionDetail, opts?: TransitionOptions): Promise<PushSummary>;
  get(pushId: string): Promise<PushRecord | undefined>;
  /** The audit trail, oldest first; empty for an unknown push. */
  history(pushId: string): Promise<PushHistoryEntry[]>;
  /** Every non-terminal push, oldest first: what a restart picks up again. */
  listResumable(): Promise<ResumablePush[]>;
  /** The outbox items queued for a push, oldest first (settled ones included). */
  outboxFor(pushId: string): Promise<OutboxItem[]>;
  /**
   * Ends outbox item `itemId` and, in the same commit, applies what `react` decides for its push.
   * False when the item was already ended (nothing changes). A failing reaction leaves the ending
   * recorded alone and rejects.
   */
  settleOutbox(itemId: number, ending: OutboxEnding, react?: SettlementReaction): Promise<boolean>;
  /** One small committed write: rejects with STORE_UNWRITABLE while the storage refuses writes. */
  probeWrite(): Promise<void>;
}

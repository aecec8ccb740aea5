/**
 * The SQLite store behind the {@link PushStorePort}: writes go through its group commit (resolved =
 * fsynced at FULL), reads answer at once. Storage failures (SQLITE_FULL, SQLITE_IOERR…) leave as
 * STORE_UNWRITABLE with the SQLite error as `cause`, so the flow never sees a SQLite code.
 */
import { AgentError, ErrorCodes } from '../../../errors.js';
import type { OutboxItem } from '../../outbox/outbox-item.js';
import type { OutboxEnding, PushStorePort, SettlementReaction } from '../push-store-port.js';
import type { PushStore } from './sqlite-push-store.js';

/** SQLite result codes that say "the storage failed", not "this write is wrong". */
const STORAGE_CODES = /^SQLITE_(FULL|IOERR|BUSY|LOCKED|CANTOPEN|READONLY|PROTOCOL|NOMEM)/;

export function isSqliteStorageError(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && STORAGE_CODES.test(code);
}

function portError(err: unknown): unknown {
  if (!isSqliteStorageError(err)) return err;
  return new AgentError(ErrorCodes.STORE_UNWRITABLE, `push store cannot write: ${(err as Error).message}`, undefined, { cause: err });
}

/** Runs `op`, turning a SQLite storage failure into STORE_UNWRITABLE. */
export async function guarded<T>(op: () => T | Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    throw portError(err);
  }
}

/** What a settlement did: whether it ended the item, and the reaction's (or its move's) error if any. */
export interface SettleResult {
  ended: boolean;
  reactionError?: unknown;
}

/**
 * Ends outbox `item` and applies what `react` decides for its push, deciding before it writes: one read
 * (is the item still open, and its push without the body), the reaction, then the ending's UPDATE —
 * alone when the push does not move (one statement: no savepoint, and alone in its batch no BEGIN/COMMIT),
 * or with the push's move and its `after` in one transaction of their own (a savepoint inside a batch).
 * When the reaction, the move or `after` throws: `keep-ending` records the ending alone (the store port's
 * settleOutbox), `roll-back` writes nothing (the outbox port: the dispatcher settles the answer again).
 * The error is returned, not thrown, so the batch it rides in is not rolled back for it. Run it as a
 * one-write group-commit item (`runDurableRefusingFirst(…, true)`).
 */
export function settleItem(
  store: PushStore,
  item: OutboxItem,
  ending: OutboxEnding,
  react: SettlementReaction | undefined,
  onReactionError: 'keep-ending' | 'roll-back',
): SettleResult {
  const open = store.openItemPush(item.id);
  if (!open) return { ended: false }; // ended already (an operator, or another path): nothing to do
  const end = () =>
    ending.outcome === 'acknowledged'
      ? store.outbox.markAcknowledged(item.id)
      : store.outbox.markEnded(item.id, ending.outcome, ending.error);
  if (!react) return { ended: end() };
  const failed = (err: unknown): SettleResult =>
    onReactionError === 'keep-ending' ? { ended: end(), reactionError: err } : { ended: false, reactionError: err };
  const lastError = ending.outcome === 'acknowledged' ? item.lastError : ending.error;
  const done: OutboxItem = { ...item, doneAt: store.now(), outcome: ending.outcome, lastError };
  let move: ReturnType<SettlementReaction>;
  try {
    move = react(done, open.push);
  } catch (err) {
    return failed(err);
  }
  if (!move) return { ended: end() };
  const { to, detail, options, after } = move;
  try {
    return {
      ended: store.runInTransaction(() => {
        if (!end()) return false;
        store.transition(item.pushId, to, detail, options);
        after?.();
        return true;
      }),
    };
  } catch (err) {
    return failed(err); // the move's transaction (or savepoint) rolled back, the ending with it
  }
}

export function sqlitePushStorePort(store: PushStore): PushStorePort {
  return {
    insert: (rec) => guarded(() => store.insertDurable(rec)),
    transition: (pushId, to, detail = {}, opts = {}) => guarded(() => store.transitionDurable(pushId, to, detail, opts)),
    get: (pushId) => guarded(() => store.get(pushId)),
    history: (pushId) => guarded(() => store.history(pushId)),
    listResumable: () => guarded(() => store.listResumableDue()),
    outboxFor: (pushId) => guarded(() => store.outbox.listForPush(pushId)),
    settleOutbox: (itemId: number, ending: OutboxEnding, react?: SettlementReaction) =>
      guarded(async () => {
        const result = await store.runDurableRefusingFirst(() => {
          const item = store.outbox.get(itemId);
          return item ? settleItem(store, item, ending, react, 'keep-ending') : { ended: false };
        }, true);
        if (result.reactionError !== undefined) throw result.reactionError;
        return result.ended;
      }),
    probeWrite: () => guarded(() => store.probeWrite()),
  };
}

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

/**
 * Applies `react`'s decision for the push of the ended item `item` inside the running transaction: reads
 * the push without its body, and applies the move (if any) in a savepoint of its own with its `after`.
 * Shared by {@link settleOutbox} and the outbox port's `settle` (sqlite-outbox-port.ts).
 */
export function applySettlementReaction(store: PushStore, item: OutboxItem, react: SettlementReaction): void {
  const move = react(item, store.getSummary(item.pushId));
  if (!move) return;
  store.runInTransaction(() => {
    store.transition(item.pushId, move.to, move.detail, move.options);
    move.after?.();
  });
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
        let reactionFailure: unknown;
        // No savepoint for the item: the ending is one UPDATE, and the reaction either decides nothing,
        // throws before writing, or writes its move in a savepoint of its own (applySettlementReaction).
        const ended = await store.runDurableRefusingFirst(() => {
          const item = store.outbox.end(itemId, ending.outcome, ending.outcome === 'acknowledged' ? undefined : ending.error);
          if (!item || !react) return item !== undefined;
          try {
            applySettlementReaction(store, item, react);
          } catch (err) {
            reactionFailure = err; // the ending stays; the move (if written) rolled back with its savepoint
          }
          return true;
        });
        if (reactionFailure !== undefined) throw reactionFailure;
        return ended;
      }),
    probeWrite: () => guarded(() => store.probeWrite()),
  };
}

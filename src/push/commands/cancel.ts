/**
 * The cancel command (PAP 2.0 §9.5 cancel-message): only a push not yet on the wire can be cancelled,
 * only by its own PI (or the admin). Typed answer; the intake renders it as a cancel-response.
 */
import type { Logger } from 'pino';
import { AgentError, ErrorCodes } from '../../errors.js';
import { countInternalError } from '../../lib/internal-errors.js';
import type { PushCounters } from '../counters.js';
import type { Outcomes } from '../outcome/outcomes.js';
import type { PushRecord } from '../store/push-record.js';
import type { PushState } from '../store/push-state.js';

export type CancelResult =
  | { kind: 'cancelled'; address: string }
  | { kind: 'not-found' }
  /** On the wire or finished (PAP 2008); `state` absent when a concurrent change won the compare-and-set. */
  | { kind: 'not-possible'; address: string; state?: PushState }
  /** The store failed (disk, connection): the push may still be cancellable; try again (PAP 4001). */
  | { kind: 'store-failed'; address?: string; reason: string };

export interface CancelDeps {
  recordFor(pushId: string): Promise<PushRecord | undefined>;
  visibleState(record: PushRecord): PushState;
  unschedule(pushId: string): void;
  outcomes: Outcomes;
  counters: PushCounters;
  noteStoreFailure(err: unknown): void;
  log: Logger;
}

export async function cancelPush(pushId: string, deps: CancelDeps): Promise<CancelResult> {
  let record: PushRecord | undefined;
  try {
    record = await deps.recordFor(pushId);
  } catch (err) {
    return storeFailed(deps, pushId, err, undefined);
  }
  if (!record) return { kind: 'not-found' };
  const state = deps.visibleState(record);
  if (state !== 'accepted') return { kind: 'not-possible', address: record.address, state };
  try {
    // The transition queues behind any group-commit work already asked for, so a `delivering` or
    // terminal change still in the batch wins and this compare-and-set fails (→ 2008).
    await deps.outcomes.finishOnce(record, 'cancelled', { reason: 'cancelled by the PI' });
  } catch (err) {
    if (err instanceof AgentError && err.code === ErrorCodes.PUSH_STATE_CONFLICT) return { kind: 'not-possible', address: record.address };
    return storeFailed(deps, pushId, err, record.address);
  }
  deps.unschedule(pushId);
  deps.counters.cancelled += 1;
  return { kind: 'cancelled', address: record.address };
}

function storeFailed(deps: CancelDeps, pushId: string, err: unknown, address: string | undefined): CancelResult {
  countInternalError('push:cancel-store', err);
  deps.noteStoreFailure(err);
  deps.log.error({ err, pushId }, 'cancel: the push store failed; answered 4001');
  return { kind: 'store-failed', reason: 'Push store failed: try again later', ...(address !== undefined && { address }) };
}

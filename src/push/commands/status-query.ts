/**
 * The status query command (PAP 2.0 §9.7 statusquery-message): the push's state as a PAP message-state,
 * for its own PI only. Typed answer; the intake renders it as a statusquery-response.
 */
import type { PapStateView } from '../outcome/pap-state-view.js';
import { papStateView } from '../outcome/pap-state-view.js';
import type { PushRecord } from '../store/push-record.js';
import type { PushState } from '../store/push-state.js';

export type StatusResult =
  | { kind: 'found'; address: string; view: PapStateView; eventTime: Date }
  | { kind: 'not-found' }
  /** The store failed (disk, connection): the state is unknown for now; try again (PAP 4001). */
  | { kind: 'store-failed'; reason: string };

export function statusOf(record: PushRecord | undefined, visibleState: (record: PushRecord) => PushState): StatusResult {
  if (!record) return { kind: 'not-found' };
  return {
    kind: 'found',
    address: record.address,
    view: papStateView(visibleState(record), record.reason, record),
    eventTime: new Date(record.updatedAt),
  };
}

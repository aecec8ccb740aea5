/**
 * What the admin and JSON APIs show of a stored push: its state (plus the PAP message-state it reads
 * as, PAP 2.0 §9.7 statusquery-result) and optionally its history. Never the stored request bytes.
 */
import { papStateView } from '../../push/outcome/pap-state-view.js';
import type { PushHistoryEntry, PushRecord } from '../../push/store/push-record.js';

export interface PushView {
  pushId: string;
  state: PushRecord['state'];
  messageState: string;
  papCode: number;
  source: PushRecord['source'];
  address: string;
  aor?: string;
  reason?: string;
  bearerHint?: string;
  sipStatus?: number;
  createdAt: string;
  updatedAt: string;
  history?: Array<{ from?: string; to: string; at: string; detail: PushHistoryEntry['detail'] }>;
}

export function pushView(record: PushRecord, history?: readonly PushHistoryEntry[]): PushView {
  const pap = papStateView(record.state, record.reason, record);
  return {
    pushId: record.pushId,
    state: record.state,
    messageState: pap.messageState,
    papCode: pap.code,
    source: record.source,
    address: record.address,
    ...(record.aor !== undefined ? { aor: record.aor } : {}),
    ...(record.reason !== undefined ? { reason: record.reason } : {}),
    ...(record.bearerHint !== undefined ? { bearerHint: record.bearerHint } : {}),
    ...(record.sipStatus !== undefined ? { sipStatus: record.sipStatus } : {}),
    createdAt: new Date(record.createdAt).toISOString(),
    updatedAt: new Date(record.updatedAt).toISOString(),
    ...(history
      ? {
          history: history.map((entry) => ({
            ...(entry.from !== undefined ? { from: entry.from } : {}),
            to: entry.to,
            at: new Date(entry.at).toISOString(),
            detail: entry.detail,
          })),
        }
      : {}),
  };
}

/**
 * The push tables' rows as both stores read them (SQLite as is; PostgreSQL with BIGINT read as a number,
 * see postgres/pg-rows.ts), their mapping to {@link PushRecord}, and the insert's parameters in the
 * shared column order.
 */
import type { NewPushRecord, PushRecord } from './push-record.js';
import { TERMINAL_STATES, type PushState } from './push-state.js';

export interface PushRow {
  push_id: string;
  address: string;
  aor: string | null;
  request_content_type: string;
  request_body: Buffer;
  deliver_after: number | null;
  deliver_before: number | null;
  notify_to: string | null;
  source: 'pap' | 'json';
  submitted_by: string | null;
  state: PushState;
  reason: string | null;
  bearer_hint: string | null;
  sip_status: number | null;
  pap_code: number | null;
  sip_call_id: string | null;
  sip_from_tag: string | null;
  sip_cseq: number | null;
  sip_attempts: number;
  created_at: number;
  updated_at: number;
}

export interface HistoryRow {
  from_state: PushState | null;
  to_state: PushState;
  at: number;
  detail: string;
}

export const TERMINAL_LIST = [...TERMINAL_STATES].map((s) => `'${s}'`).join(', ');

export function toRecord(row: PushRow): PushRecord {
  return {
    pushId: row.push_id,
    address: row.address,
    aor: row.aor ?? undefined,
    requestContentType: row.request_content_type,
    requestBody: row.request_body,
    deliverAfter: row.deliver_after ?? undefined,
    deliverBefore: row.deliver_before ?? undefined,
    notifyTo: row.notify_to ?? undefined,
    source: row.source,
    submittedBy: row.submitted_by ?? undefined,
    state: row.state,
    reason: row.reason ?? undefined,
    bearerHint: row.bearer_hint ?? undefined,
    sipStatus: row.sip_status ?? undefined,
    papCode: row.pap_code ?? undefined,
    messageIdentity:
      row.sip_call_id !== null && row.sip_from_tag !== null
        ? { callId: row.sip_call_id, fromTag: row.sip_from_tag, cseq: row.sip_cseq ?? 1 }
        : undefined,
    sipAttempts: row.sip_attempts,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** The parameters of the `insert` statement, in its column order, for a newly accepted push at `now`. */
export function toInsertParams(rec: NewPushRecord, now: number): unknown[] {
  return [
    rec.pushId,
    rec.address,
    rec.aor ?? null,
    rec.requestContentType,
    rec.requestBody,
    rec.deliverAfter ?? null,
    rec.deliverBefore ?? null,
    rec.notifyTo ?? null,
    rec.source ?? 'pap',
    rec.submittedBy ?? null,
    now,
    now,
    rec.messageIdentity?.callId ?? null,
    rec.messageIdentity?.fromTag ?? null,
    rec.messageIdentity?.cseq ?? null,
  ];
}

/**
 * The push tables' rows as both stores read them (SQLite as is; PostgreSQL with BIGINT read as a number,
 * see postgres/pg-rows.ts), their mapping to {@link PushRecord}, and the insert's parameters in the
 * shared column order.
 */
import type { NewPushRecord, PushRecord, PushSummary, TransitionDetail } from './push-record.js';
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
  return { ...toSummary(row), requestBody: row.request_body };
}

/** A row read without its body (the hot path's RETURNING, the settlement's read) as a {@link PushSummary}. */
export function toSummary(row: Omit<PushRow, 'request_body'>): PushSummary {
  return {
    pushId: row.push_id,
    address: row.address,
    aor: row.aor ?? undefined,
    requestContentType: row.request_content_type,
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

/** The record of a push just inserted at `now`, from what was written (no read back). */
export function insertedRecord(rec: NewPushRecord, now: number): PushRecord {
  return {
    pushId: rec.pushId,
    address: rec.address,
    aor: rec.aor,
    requestContentType: rec.requestContentType,
    requestBody: rec.requestBody,
    deliverAfter: rec.deliverAfter,
    deliverBefore: rec.deliverBefore,
    notifyTo: rec.notifyTo,
    source: rec.source ?? 'pap',
    submittedBy: rec.submittedBy,
    state: 'accepted',
    reason: undefined,
    bearerHint: undefined,
    sipStatus: undefined,
    papCode: undefined,
    messageIdentity: rec.messageIdentity ? { ...rec.messageIdentity } : undefined,
    sipAttempts: 0,
    createdAt: now,
    updatedAt: now,
  };
}

/**
 * The values every store's transition UPDATE sets, in this order: state, updated_at, reason, bearer
 * hint, SIP status, PAP code (each kept when the detail has none) and the increment of sip_attempts —
 * each move to `delivering` is one MESSAGE send that may leave.
 */
export function transitionValues(
  to: PushState,
  now: number,
  detail: TransitionDetail,
): [PushState, number, string | null, string | null, number | null, number | null, number] {
  return [
    to,
    now,
    detail.reason ?? null,
    detail.bearerHint ?? null,
    detail.sipStatus ?? null,
    detail.papCode ?? null,
    to === 'delivering' ? 1 : 0,
  ];
}

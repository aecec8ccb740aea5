/**
 * How the PostgreSQL push store's rows map to the port's records, and which driver errors mean "the
 * storage failed" (STORE_UNWRITABLE) rather than "this write is wrong". BIGINT columns arrive as strings
 * from the driver (they may exceed 2^53 in general); the store's timestamps and ids never do.
 */
import { AgentError, ErrorCodes } from '../../../errors.js';
import type { OutboxItem } from '../../outbox/outbox-item.js';
import type { PushRecord } from '../push-record.js';
import type { PushState } from '../push-state.js';

export interface PushRow {
  push_id: string;
  address: string;
  aor: string | null;
  request_content_type: string;
  request_body: Buffer;
  deliver_after: string | null;
  deliver_before: string | null;
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
  created_at: string;
  updated_at: string;
}

export interface OutboxRow {
  id: string;
  push_id: string;
  kind: OutboxItem['kind'];
  url: string;
  content_type: string;
  headers: string;
  body: Buffer;
  attempts: number;
  next_attempt_at: string;
  last_error: string | null;
  created_at: string;
  done_at: string | null;
  parked_at: string | null;
  outcome: OutboxItem['outcome'] | null;
}

export const num = (v: string | null): number | undefined => (v === null ? undefined : Number(v));

export function toRecord(row: PushRow): PushRecord {
  return {
    pushId: row.push_id,
    address: row.address,
    aor: row.aor ?? undefined,
    requestContentType: row.request_content_type,
    requestBody: row.request_body,
    deliverAfter: num(row.deliver_after),
    deliverBefore: num(row.deliver_before),
    notifyTo: row.notify_to ?? undefined,
    source: row.source,
    submittedBy: row.submitted_by ?? undefined,
    state: row.state,
    reason: row.reason ?? undefined,
    bearerHint: row.bearer_hint ?? undefined,
    sipStatus: row.sip_status ?? undefined,
    papCode: row.pap_code ?? undefined,
    messageIdentity:
      row.sip_call_id !== null && row.sip_from_tag !== null && row.sip_cseq !== null
        ? { callId: row.sip_call_id, fromTag: row.sip_from_tag, cseq: row.sip_cseq }
        : undefined,
    sipAttempts: row.sip_attempts,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

export function toItem(row: OutboxRow): OutboxItem {
  return {
    id: Number(row.id),
    pushId: row.push_id,
    kind: row.kind,
    url: row.url,
    contentType: row.content_type,
    headers: JSON.parse(row.headers) as Record<string, string>,
    body: row.body,
    attempts: row.attempts,
    nextAttemptAt: Number(row.next_attempt_at),
    lastError: row.last_error ?? undefined,
    createdAt: Number(row.created_at),
    doneAt: num(row.done_at),
    outcome: row.outcome ?? (row.done_at !== null ? 'acknowledged' : undefined),
    parkedAt: num(row.parked_at),
  };
}

/** SQLSTATE classes that say "the storage or the connection failed", not "this write is wrong". */
const STORAGE_SQLSTATE = /^(08|53|57P|58)/;
const NODE_NET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EHOSTUNREACH']);

export function isPgStorageError(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string' && (STORAGE_SQLSTATE.test(code) || NODE_NET_CODES.has(code))) return true;
  const message = err instanceof Error ? err.message : '';
  return /Connection terminated|connection timeout|Client has encountered a connection error/i.test(message);
}

export function portError(err: unknown): unknown {
  if (err instanceof AgentError || !isPgStorageError(err)) return err;
  return new AgentError(ErrorCodes.STORE_UNWRITABLE, `push store cannot write: ${(err as Error).message}`, undefined, { cause: err });
}

export const PUSH_COLUMNS =
  'push_id, address, aor, request_content_type, request_body, deliver_after, deliver_before, notify_to, source, ' +
  'submitted_by, state, reason, bearer_hint, sip_status, pap_code, sip_call_id, sip_from_tag, sip_cseq, sip_attempts, ' +
  'created_at, updated_at';
export const OUTBOX_COLUMNS =
  'id, push_id, kind, url, content_type, headers, body, attempts, next_attempt_at, last_error, created_at, done_at, parked_at, outcome';

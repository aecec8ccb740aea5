/**
 * What the PostgreSQL store needs beyond the rows both stores share (push-rows.ts, the outbox's row):
 * reading BIGINT columns as numbers, so a row has the same shape as SQLite's and one mapping serves
 * both (the driver's default is a string, as BIGINT may exceed 2^53 in general; the store's timestamps
 * and ids never do), the column lists, and which driver errors mean "the storage failed"
 * (STORE_UNWRITABLE) rather than "this write is wrong".
 */
import pg from 'pg';
import { AgentError, ErrorCodes } from '../../../errors.js';

/** PostgreSQL's type oid for BIGINT (int8). */
const INT8_OID = 20;

/** Per-query type parsers: BIGINT as a JavaScript number, everything else as the driver parses it. */
export const BIGINT_AS_NUMBER = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === INT8_OID ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

/** SQLSTATE classes that say "the storage or the connection failed", not "this write is wrong". */
const STORAGE_SQLSTATE = /^(08|53|57P|58)/;
const NODE_NET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EHOSTUNREACH']);

export function isPgStorageError(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string' && (STORAGE_SQLSTATE.test(code) || NODE_NET_CODES.has(code))) return true;
  const message = err instanceof Error ? err.message : '';
  return /Connection terminated|connection timeout|Query read timeout|Client has encountered a connection error/i.test(message);
}

export function portError(err: unknown): unknown {
  if (err instanceof AgentError || !isPgStorageError(err)) return err;
  return new AgentError(ErrorCodes.STORE_UNWRITABLE, `push store cannot write: ${(err as Error).message}`, undefined, { cause: err });
}

export const PUSH_COLUMNS =
  'push_id, address, aor, request_content_type, request_body, deliver_after, deliver_before, notify_to, source, ' +
  'submitted_by, state, reason, bearer_hint, sip_status, pap_code, sip_call_id, sip_from_tag, sip_cseq, sip_attempts, ' +
  'created_at, updated_at';

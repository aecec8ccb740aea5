/**
 * The prepared statements of the push store (pushes and their history), prepared once per connection.
 */
import type { Database, Statement } from 'better-sqlite3';
import type { PushState } from '../push-state.js';
import { TERMINAL_LIST, type HistoryRow, type PushRow } from '../push-rows.js';

export interface PushStatements {
  insert: Statement<unknown[]>;
  get: Statement<[string], PushRow>;
  update: Statement<unknown[]>;
  history: Statement<[string], HistoryRow>;
  addHistory: Statement<[string, PushState | null, PushState, number, string]>;
  resumable: Statement<[], PushRow>;
  resumableDue: Statement<[], { push_id: string; state: PushState; deliver_after: number | null }>;
  counts: Statement<[], { state: PushState; n: number }>;
  backlog: Statement<[], { n: number }>;
  prunable: Statement<[number], { push_id: string }>;
  deleteHistory: Statement<[string]>;
  deleteOutbox: Statement<[string]>;
  deletePush: Statement<[string]>;
}

export function preparePushStatements(db: Database): PushStatements {
  const nonTerminal = `state NOT IN (${TERMINAL_LIST})`;
  return {
    insert: db.prepare(
      `INSERT INTO pushes (push_id, address, aor, request_content_type, request_body, deliver_after,
           deliver_before, notify_to, source, submitted_by, state, created_at, updated_at, sip_call_id, sip_from_tag, sip_cseq)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'accepted', ?, ?, ?, ?, ?)`,
    ),
    get: db.prepare('SELECT * FROM pushes WHERE push_id = ?'),
    update: db.prepare(
      `UPDATE pushes SET state = ?, updated_at = ?, reason = COALESCE(?, reason),
           bearer_hint = COALESCE(?, bearer_hint), sip_status = COALESCE(?, sip_status),
           pap_code = COALESCE(?, pap_code), sip_attempts = sip_attempts + ?
         WHERE push_id = ? AND state = ?`,
    ),
    history: db.prepare('SELECT from_state, to_state, at, detail FROM push_history WHERE push_id = ? ORDER BY seq'),
    addHistory: db.prepare('INSERT INTO push_history (push_id, from_state, to_state, at, detail) VALUES (?, ?, ?, ?, ?)'),
    resumable: db.prepare(`SELECT * FROM pushes WHERE ${nonTerminal} ORDER BY created_at, push_id`),
    resumableDue: db.prepare(`SELECT push_id, state, deliver_after FROM pushes WHERE ${nonTerminal} ORDER BY created_at, push_id`),
    counts: db.prepare('SELECT state, COUNT(*) AS n FROM pushes GROUP BY state'),
    backlog: db.prepare(`SELECT COUNT(*) AS n FROM pushes WHERE ${nonTerminal}`),
    // Terminal, older than the retention, and owing the PPG nothing (no undone outbox row).
    prunable: db.prepare(
      `SELECT push_id FROM pushes p WHERE state IN (${TERMINAL_LIST}) AND updated_at < ?
           AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.push_id = p.push_id AND o.done_at IS NULL)`,
    ),
    deleteHistory: db.prepare('DELETE FROM push_history WHERE push_id = ?'),
    deleteOutbox: db.prepare('DELETE FROM outbox WHERE push_id = ?'),
    deletePush: db.prepare('DELETE FROM pushes WHERE push_id = ?'),
  };
}

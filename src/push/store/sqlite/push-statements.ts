/**
 * The prepared statements of the push store, prepared once per connection. The hot path is one statement
 * per step: the insert (with the first history entry), and per state change one UPDATE that is the
 * compare-and-set, appends the history entry and returns the row without its body.
 */
import type { Database, Statement } from 'better-sqlite3';
import { PUSH_STATES, canTransition, type PushState } from '../push-state.js';
import { TERMINAL_LIST, type PushRow } from '../push-rows.js';

/** Every column a {@link PushSummary} needs: all but the request body and the history. */
const SUMMARY_COLUMNS =
  'push_id, address, aor, request_content_type, deliver_after, deliver_before, notify_to, source, submitted_by, ' +
  'state, reason, bearer_hint, sip_status, pap_code, sip_call_id, sip_from_tag, sip_cseq, sip_attempts, created_at, updated_at';

export type SummaryRow = Omit<PushRow, 'request_body'>;

/** Parameters of a transition UPDATE: to, now, reason, bearer hint, SIP status, PAP code, attempts +n, history tail, push-id. */
export type TransitionParams = [PushState, number, string | null, string | null, number | null, number | null, number, string, string];

export interface PushStatements {
  insert: Statement<unknown[]>;
  get: Statement<[string], PushRow>;
  summary: Statement<[string], SummaryRow>;
  state: Statement<[string], { state: PushState }>;
  history: Statement<[string], { history: string }>;
  resumable: Statement<[], PushRow>;
  resumableDue: Statement<[], { push_id: string; state: PushState; deliver_after: number | null }>;
  counts: Statement<[], { state: PushState; n: number }>;
  backlog: Statement<[], { n: number }>;
  prunable: Statement<[number], { push_id: string }>;
  deleteOutbox: Statement<[string]>;
  deletePush: Statement<[string]>;
  probe: Statement<[number]>;
  /** An outbox item's `done_at` with its push (no body): what a settlement decides from, in one read. */
  itemWithPush: Statement<[number], Partial<SummaryRow> & { done_at: number | null }>;
  /** The compare-and-set UPDATE for a move to `to` from one of `from` (prepared on first use, then kept). */
  transition(to: PushState, from: readonly PushState[]): Statement<TransitionParams, SummaryRow>;
}

/** The states a push may move to `to` from, narrowed to the caller's guard when there is one. */
export function originsOf(to: PushState, expectedFrom: PushState | readonly PushState[] | undefined): PushState[] {
  const expected = expectedFrom === undefined ? undefined : [expectedFrom].flat();
  return PUSH_STATES.filter((s) => canTransition(s, to) && (!expected || expected.includes(s)));
}

export function preparePushStatements(db: Database): PushStatements {
  const nonTerminal = `state NOT IN (${TERMINAL_LIST})`;
  const transitions = new Map<string, Statement<TransitionParams, SummaryRow>>();
  return {
    insert: db.prepare(
      `INSERT INTO pushes (push_id, address, aor, request_content_type, request_body, deliver_after,
           deliver_before, notify_to, source, submitted_by, state, created_at, updated_at, sip_call_id, sip_from_tag, sip_cseq, history)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'accepted', ?, ?, ?, ?, ?, ?)`,
    ),
    get: db.prepare(`SELECT ${SUMMARY_COLUMNS}, request_body FROM pushes WHERE push_id = ?`),
    summary: db.prepare(`SELECT ${SUMMARY_COLUMNS} FROM pushes WHERE push_id = ?`),
    state: db.prepare('SELECT state FROM pushes WHERE push_id = ?'),
    history: db.prepare('SELECT history FROM pushes WHERE push_id = ?'),
    resumable: db.prepare(`SELECT ${SUMMARY_COLUMNS}, request_body FROM pushes WHERE ${nonTerminal} ORDER BY created_at, push_id`),
    resumableDue: db.prepare(`SELECT push_id, state, deliver_after FROM pushes WHERE ${nonTerminal} ORDER BY created_at, push_id`),
    counts: db.prepare('SELECT state, COUNT(*) AS n FROM pushes GROUP BY state'),
    backlog: db.prepare(`SELECT COUNT(*) AS n FROM pushes WHERE ${nonTerminal}`),
    // Terminal, older than the retention, and owing the PPG nothing (no undone outbox row).
    prunable: db.prepare(
      `SELECT push_id FROM pushes p WHERE state IN (${TERMINAL_LIST}) AND updated_at < ?
           AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.push_id = p.push_id AND o.done_at IS NULL)`,
    ),
    deleteOutbox: db.prepare('DELETE FROM outbox WHERE push_id = ?'),
    deletePush: db.prepare('DELETE FROM pushes WHERE push_id = ?'),
    probe: db.prepare('INSERT OR REPLACE INTO write_probe (id, at) VALUES (1, ?)'),
    itemWithPush: db.prepare(
      `SELECT o.done_at, ${SUMMARY_COLUMNS.split(', ')
        .map((c) => `p.${c}`)
        .join(', ')} FROM outbox o LEFT JOIN pushes p ON p.push_id = o.push_id WHERE o.id = ?`,
    ),
    transition(to, from) {
      const key = `${to}<${from.join(',')}`;
      let stmt = transitions.get(key);
      if (!stmt) {
        // `state` on the right of SET is the row's old value: the entry records where the push came from.
        // The states are the fixed names of push-state.ts, never input.
        const guard = from.length > 0 ? `state IN (${from.map((s) => `'${s}'`).join(', ')})` : 'FALSE';
        stmt = db.prepare<TransitionParams, SummaryRow>(
          `UPDATE pushes SET state = ?, updated_at = ?, reason = COALESCE(?, reason),
               bearer_hint = COALESCE(?, bearer_hint), sip_status = COALESCE(?, sip_status),
               pap_code = COALESCE(?, pap_code), sip_attempts = sip_attempts + ?,
               history = history || ',{"f":"' || state || '",' || ?
             WHERE push_id = ? AND ${guard}
             RETURNING ${SUMMARY_COLUMNS}`,
        );
        transitions.set(key, stmt);
      }
      return stmt;
    },
  };
}

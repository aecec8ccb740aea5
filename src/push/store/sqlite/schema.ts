import type { Database } from 'better-sqlite3';
import { refuseNewerSchema } from '../schema-version.js';

/**
 * The one place the push database's tables are defined (pushes with their history, and the PPG outbox).
 *
 * Migrations are append-only: index `i` moves the database from `user_version = i` to `i + 1`. Never edit
 * a released entry; add a new one.
 */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE pushes (
    push_id               TEXT PRIMARY KEY,
    address               TEXT NOT NULL,
    aor                   TEXT,
    request_content_type  TEXT NOT NULL,
    request_body          BLOB NOT NULL,
    deliver_after         INTEGER,
    deliver_before        INTEGER,
    notify_to             TEXT,
    source                TEXT NOT NULL CHECK (source IN ('pap', 'json')),
    state                 TEXT NOT NULL,
    reason                TEXT,
    bearer_hint           TEXT,
    sip_status            INTEGER,
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX pushes_by_state ON pushes (state, updated_at);

  CREATE TABLE push_history (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    push_id    TEXT NOT NULL REFERENCES pushes (push_id),
    from_state TEXT,
    to_state   TEXT NOT NULL,
    at         INTEGER NOT NULL,
    detail     TEXT NOT NULL
  );
  CREATE INDEX push_history_by_push ON push_history (push_id, seq);

  CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    push_id         TEXT NOT NULL REFERENCES pushes (push_id),
    kind            TEXT NOT NULL CHECK (kind IN ('hand-back', 'result-notification')),
    url             TEXT NOT NULL,
    content_type    TEXT NOT NULL,
    headers         TEXT NOT NULL DEFAULT '{}',
    body            BLOB NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    done_at         INTEGER,
    parked_at       INTEGER
  );
  CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE done_at IS NULL AND parked_at IS NULL;
  CREATE INDEX outbox_by_push ON outbox (push_id);
  `,
  // How an outbox item ended (NULL while pending; done_at is set for every ending, so "due" queries are
  // unchanged): acknowledged by a PAP 1xxx, refused by the PPG/PI, or given up by the retry rule. And
  // the PAP code that decided a push's outcome when it came from the PPG (a refused hand-back).
  `
  ALTER TABLE outbox ADD COLUMN outcome TEXT CHECK (outcome IN ('acknowledged', 'refused', 'gave-up'));
  ALTER TABLE pushes ADD COLUMN pap_code INTEGER;
  `,
  // 2 → 3: the PI that submitted each push (its intake user name, `anonymous` on an open intake), so status
  // query, read and cancel answer only that PI. Rows from before have none and stay readable by any PI.
  `
  ALTER TABLE pushes ADD COLUMN submitted_by TEXT;
  `,
  // 3 → 4: the MESSAGE's identity (Call-ID, From tag, CSeq), fixed when the push is accepted so a resend after
  // a restart is the same request to the core and the handset; sip_attempts counts sends that may
  // have left (a failure answer to a resend is no evidence: the first copy may have been delivered).
  // Rows from before get an identity here (SQLite's randomblob; same shape as the agent's own).
  // write_probe: one row rewritten to learn whether the disk takes writes again (PushStore.probeWrite).
  `
  ALTER TABLE pushes ADD COLUMN sip_call_id TEXT;
  ALTER TABLE pushes ADD COLUMN sip_from_tag TEXT;
  ALTER TABLE pushes ADD COLUMN sip_cseq INTEGER;
  ALTER TABLE pushes ADD COLUMN sip_attempts INTEGER NOT NULL DEFAULT 0;
  UPDATE pushes SET sip_call_id = lower(hex(randomblob(12))) || '@sip-push-agent',
    sip_from_tag = lower(hex(randomblob(6))), sip_cseq = 1 WHERE sip_call_id IS NULL;
  CREATE TABLE write_probe (id INTEGER PRIMARY KEY CHECK (id = 1), at INTEGER NOT NULL);
  `,
  // 4 → 5: the audit trail moves into the push row. `history` holds the entries as JSON objects joined by
  // commas (a JSON array without its brackets): the insert writes the first, every state change appends one
  // in the same UPDATE that is its compare-and-set — one statement per transition instead of an UPDATE, an
  // INSERT into push_history and the reads around them. Entry: {"f": from | null, "t": to, "at": ms, "d":
  // detail}. The rows of push_history are copied over in their order, then the table goes.
  `
  ALTER TABLE pushes ADD COLUMN history TEXT NOT NULL DEFAULT '';
  UPDATE pushes SET history = COALESCE((
    SELECT group_concat(json_object('f', h.from_state, 't', h.to_state, 'at', h.at, 'd', json(h.detail)), ',' ORDER BY h.seq)
      FROM push_history h WHERE h.push_id = pushes.push_id), '');
  DROP TABLE push_history;
  `,
];

/** The schema version this code writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * `synchronous` for the WAL journal. FULL (the default) fsyncs the WAL at every commit: a push the agent
 * answered PAP 1001 for survives a power cut or kernel crash, not only a process crash, which is what
 * the agent's promise to the PPG ("nothing accepted is lost, across restarts too") needs. NORMAL is durable
 * against a process crash only (the last commits may roll back on power loss) and is offered for
 * benchmarks and tmpfs deployments.
 */
export type SyncMode = 'FULL' | 'NORMAL';

/** Pragmas for every connection: WAL, the chosen sync mode, foreign keys, a bounded busy wait. */
export function configureConnection(db: Database, synchronous: SyncMode): void {
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${synchronous}`);
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
}

/** Brings the database up to {@link SCHEMA_VERSION}, each step in its own transaction. */
export function migrate(db: Database): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  refuseNewerSchema(current, SCHEMA_VERSION);
  for (let version = current; version < SCHEMA_VERSION; version++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[version] as string);
      db.pragma(`user_version = ${version + 1}`);
    }).immediate();
  }
}

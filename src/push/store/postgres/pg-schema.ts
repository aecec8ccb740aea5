/**
 * The push store's tables on PostgreSQL (cluster mode): the same lifecycle, history and outbox as the
 * SQLite store, plus the ownership lease every non-terminal push and pending outbox item carries
 * (`lease_owner` = the agent instance working on it, `lease_until` = when the others may take it over).
 *
 * Migrations are append-only and versioned in `spa_schema_version`; every agent applies them at start.
 * Two agents starting at once serialise on a transaction-scoped advisory lock, so each step runs exactly
 * once and the loser finds the work done (PostgreSQL §9.27.10 "Advisory Lock Functions").
 */
import type { Pool, PoolClient } from 'pg';
import { refuseNewerSchema } from '../schema-version.js';
import { checkout } from './pg-checkout.js';

const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE pushes (
    push_id               TEXT PRIMARY KEY,
    address               TEXT NOT NULL,
    aor                   TEXT,
    request_content_type  TEXT NOT NULL,
    request_body          BYTEA NOT NULL,
    deliver_after         BIGINT,
    deliver_before        BIGINT,
    notify_to             TEXT,
    source                TEXT NOT NULL CHECK (source IN ('pap', 'json')),
    state                 TEXT NOT NULL,
    reason                TEXT,
    bearer_hint           TEXT,
    sip_status            INTEGER,
    pap_code              INTEGER,
    submitted_by          TEXT,
    sip_call_id           TEXT,
    sip_from_tag          TEXT,
    sip_cseq              INTEGER,
    sip_attempts          INTEGER NOT NULL DEFAULT 0,
    created_at            BIGINT NOT NULL,
    updated_at            BIGINT NOT NULL,
    lease_owner           TEXT,
    lease_until           BIGINT
  );
  CREATE INDEX pushes_by_state ON pushes (state, updated_at);
  -- Work another agent may take over: not terminal, lease lapsed (or never taken).
  CREATE INDEX pushes_open_by_lease ON pushes (lease_until)
    WHERE state IN ('accepted', 'delivering', 'handing-back');

  CREATE TABLE push_history (
    seq        BIGSERIAL PRIMARY KEY,
    push_id    TEXT NOT NULL REFERENCES pushes (push_id),
    from_state TEXT,
    to_state   TEXT NOT NULL,
    at         BIGINT NOT NULL,
    detail     TEXT NOT NULL
  );
  CREATE INDEX push_history_by_push ON push_history (push_id, seq);

  CREATE TABLE outbox (
    id              BIGSERIAL PRIMARY KEY,
    push_id         TEXT NOT NULL REFERENCES pushes (push_id),
    kind            TEXT NOT NULL CHECK (kind IN ('hand-back', 'result-notification')),
    url             TEXT NOT NULL,
    content_type    TEXT NOT NULL,
    headers         TEXT NOT NULL DEFAULT '{}',
    body            BYTEA NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    last_error      TEXT,
    created_at      BIGINT NOT NULL,
    done_at         BIGINT,
    parked_at       BIGINT,
    outcome         TEXT CHECK (outcome IN ('acknowledged', 'refused', 'gave-up')),
    lease_owner     TEXT,
    lease_until     BIGINT
  );
  CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE done_at IS NULL AND parked_at IS NULL;
  CREATE INDEX outbox_by_push ON outbox (push_id);

  -- One row rewritten to learn whether the database takes writes again after a failure.
  CREATE TABLE write_probe (id INTEGER PRIMARY KEY CHECK (id = 1), at BIGINT NOT NULL);
  `,
];

/** The schema version this code writes. */
export const PG_SCHEMA_VERSION = MIGRATIONS.length;

/** Any 64-bit constant distinct from other applications sharing the database; "spa-push" in ASCII. */
const MIGRATION_LOCK = '7310593858473092968';

async function inTransaction<T>(client: PoolClient, work: () => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  try {
    const out = await work();
    await client.query('COMMIT');
    return out;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/**
 * Bring the database to {@link PG_SCHEMA_VERSION}; safe when several agents call it at once. Returns the
 * version found before.
 * @throws AgentError STORE_SCHEMA_UNSUPPORTED when the database was written by a newer agent.
 */
export async function migratePostgres(pool: Pool): Promise<number> {
  const held = await checkout(pool);
  const client = held.client;
  try {
    return await inTransaction(client, async () => {
      await client.query('SELECT pg_advisory_xact_lock($1::bigint)', [MIGRATION_LOCK]);
      await client.query('CREATE TABLE IF NOT EXISTS spa_schema_version (version INTEGER NOT NULL)');
      const row = await client.query<{ version: number }>('SELECT version FROM spa_schema_version');
      const current = row.rows[0]?.version ?? 0;
      if (row.rows.length === 0) await client.query('INSERT INTO spa_schema_version VALUES (0)');
      refuseNewerSchema(current, PG_SCHEMA_VERSION);
      for (let version = current; version < PG_SCHEMA_VERSION; version++) {
        await client.query(MIGRATIONS[version] as string);
        await client.query('UPDATE spa_schema_version SET version = $1', [version + 1]);
      }
      return current;
    });
  } finally {
    held.release();
  }
}

/**
 * The PostgreSQL store's schema and ownership leases on a real PostgreSQL: migrations applied by several
 * agents starting at once run once; a newer schema is refused; the open work of an agent that stopped
 * renewing is taken over after its lease lapses — by two survivors at once without overlap — while a live
 * agent's work is never taken.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../src/errors.js';
import { PushLeases } from '../../src/push/store/postgres/pg-leases.js';
import { migratePostgres, PG_SCHEMA_VERSION } from '../../src/push/store/postgres/pg-schema.js';
import { stopAllProcesses } from '../support/cleanup.js';
import { type PostgresHandle, postgresMissingReason, startPostgres } from '../support/postgres.js';

const missing = postgresMissingReason();
if (missing) console.warn(`pg-store-leases: skipped: ${missing}`);

describe.skipIf(missing !== undefined)('PostgreSQL push store: schema and leases', () => {
  let server: PostgresHandle;
  let pool: pg.Pool;
  beforeAll(async () => {
    server = await startPostgres();
    pool = new pg.Pool({ connectionString: server.url, max: 8 });
  }, 60_000);
  afterAll(async () => {
    await pool?.end();
    await stopAllProcesses();
  });

  it('five agents migrating at once: each step runs once, all see the current version', async () => {
    const before = await Promise.all(Array.from({ length: 5 }, () => migratePostgres(pool)));
    expect(before.filter((v) => v === 0)).toHaveLength(1);
    expect(before.filter((v) => v === PG_SCHEMA_VERSION)).toHaveLength(4);
    const v = await pool.query('SELECT version FROM spa_schema_version');
    expect(v.rows).toEqual([{ version: PG_SCHEMA_VERSION }]);
  });

  it('a database written by a newer agent is refused with STORE_SCHEMA_UNSUPPORTED', async () => {
    await pool.query('UPDATE spa_schema_version SET version = $1', [PG_SCHEMA_VERSION + 1]);
    await expect(migratePostgres(pool)).rejects.toMatchObject({ code: ErrorCodes.STORE_SCHEMA_UNSUPPORTED });
    await pool.query('UPDATE spa_schema_version SET version = $1', [PG_SCHEMA_VERSION]);
  });

  it("a dead agent's open pushes are taken over once, split between two survivors; a live agent's are not", async () => {
    let clock = 1_000_000;
    const now = () => clock;
    const dead = new PushLeases({ pool, owner: 'agent-dead', leaseMs: 5_000, now });
    const live = new PushLeases({ pool, owner: 'agent-live', leaseMs: 5_000, now });
    const insert = async (id: string, owner: PushLeases, state = 'accepted') => {
      const l = owner.fresh();
      await pool.query(
        `INSERT INTO pushes (push_id, address, request_content_type, request_body, source, state, created_at, updated_at, lease_owner, lease_until)
         VALUES ($1, 'WAPPUSH=+1/TYPE=PLMN@ppg', 'application/xml', '\\x00', 'pap', $2, $3, $3, $4, $5)`,
        [id, state, clock, l.leaseOwner, l.leaseUntil],
      );
    };
    for (let i = 0; i < 40; i++) await insert(`dead-${i}`, dead);
    await insert('dead-done', dead, 'delivered');
    for (let i = 0; i < 10; i++) await insert(`live-${i}`, live);

    const a = new PushLeases({ pool, owner: 'survivor-a', leaseMs: 5_000, now });
    const b = new PushLeases({ pool, owner: 'survivor-b', leaseMs: 5_000, now });
    expect(await a.takeOverPushes(100)).toEqual([]); // nothing lapsed yet

    clock += 6_000; // the dead agent's leases lapse; the live one renews
    await live.renew();
    const [ga, gb] = await Promise.all([a.takeOverPushes(25), b.takeOverPushes(25)]);
    const taken = [...ga, ...gb];
    expect(new Set(taken).size).toBe(taken.length); // disjoint
    expect(taken.every((id) => id.startsWith('dead-') && id !== 'dead-done')).toBe(true);
    const rest = [...(await a.takeOverPushes(100)), ...(await b.takeOverPushes(100))];
    expect(new Set([...taken, ...rest]).size).toBe(40);
    const owners = await pool.query<{ lease_owner: string; n: string }>(
      "SELECT lease_owner, count(*) AS n FROM pushes WHERE push_id LIKE 'live-%' GROUP BY lease_owner",
    );
    expect(owners.rows).toEqual([{ lease_owner: 'agent-live', n: '10' }]);
  });
});

/**
 * The private PostgreSQL and Redis servers the cluster tests run on: they start on loopback, answer a real
 * client, survive a restart the way the cluster tests need (PostgreSQL keeps its data, Redis starts empty),
 * stop by pid and start again after a stop (an outage that ends).
 */
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { groupAlive, stopAllProcesses } from '../support/cleanup.js';
import { postgresMissingReason, startPostgres } from '../support/postgres.js';
import { redisMissingReason, startRedis } from '../support/redis.js';

afterAll(stopAllProcesses);

const pgMissing = postgresMissingReason();
if (pgMissing) console.warn(`state-engines-harness: PostgreSQL cases skipped: ${pgMissing}`);
const redisMissing = redisMissingReason();
if (redisMissing) console.warn(`state-engines-harness: Redis cases skipped: ${redisMissing}`);

describe.skipIf(pgMissing !== undefined)('private PostgreSQL', () => {
  it('starts on loopback, keeps data across a restart, stops by pid', async () => {
    const server = await startPostgres();
    const client = new pg.Client({ connectionString: server.url });
    await client.connect();
    await client.query('CREATE TABLE t (v int)');
    await client.query('INSERT INTO t VALUES (42)');
    await client.end();
    await server.restart();
    const again = new pg.Client({ connectionString: server.url });
    await again.connect();
    expect((await again.query('SELECT v FROM t')).rows).toEqual([{ v: 42 }]);
    await again.end();
    const pid = server.pid;
    await server.stop();
    expect(groupAlive(pid)).toBe(false);
    // An outage that ends: start() after stop() serves the same data on the same port.
    await server.start();
    expect(server.pid).not.toBe(pid);
    const back = new pg.Client({ connectionString: server.url });
    await back.connect();
    expect((await back.query('SELECT v FROM t')).rows).toEqual([{ v: 42 }]);
    await back.end();
    await server.stop();
    expect(groupAlive(server.pid)).toBe(false);
  }, 60_000);
});

describe.skipIf(redisMissing !== undefined)('private Redis', () => {
  it('starts on loopback, starts empty after a restart, stops by pid', async () => {
    const server = await startRedis();
    const client = new Redis(server.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await client.connect();
    await client.set('k', 'v');
    expect(await client.get('k')).toBe('v');
    client.disconnect();
    await server.restart();
    const again = new Redis(server.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await again.connect();
    expect(await again.get('k')).toBeNull();
    again.disconnect();
    const pid = server.pid;
    await server.stop();
    expect(groupAlive(pid)).toBe(false);
    await server.start();
    const back = new Redis(server.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await back.connect();
    expect(await back.ping()).toBe('PONG');
    back.disconnect();
    await server.stop();
    expect(groupAlive(server.pid)).toBe(false);
  }, 30_000);
});

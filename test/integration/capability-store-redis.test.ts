/**
 * The Redis capability store on a real Redis: it passes the CapabilityStore contract every store must
 * pass; evidence written by one agent decides at another after one prefetch; entries expire in Redis by
 * the table's TTL; and with Redis gone, decisions fall back to what the agent holds without throwing.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newEntry } from '../../src/capabilities/capability-entry.js';
import type { CapabilityStore } from '../../src/capabilities/capability-store.js';
import { RedisCapabilityStore } from '../../src/capabilities/redis-capability-store.js';
import { internalErrorCount } from '../../src/lib/internal-errors.js';
import { stopAllProcesses } from '../support/cleanup.js';
import { waitUntil } from '../support/poll.js';
import { type RedisHandle, redisMissingReason, startRedis } from '../support/redis.js';
import { describeCapabilityStoreContract } from '../contract/capability-store.contract.js';

const missing = redisMissingReason();
if (missing) console.warn(`capability-store-redis: skipped: ${missing}`);

describe.skipIf(missing !== undefined)('Redis capability store', () => {
  let server: RedisHandle;
  const clients: Redis[] = [];
  let n = 0;
  // As the agent configures it: no offline queue (memory stays bounded while Redis is away), quick retries.
  const client = () => {
    const c = new Redis(server.url, { maxRetriesPerRequest: 1, enableOfflineQueue: false, retryStrategy: () => 100 });
    c.on('error', () => undefined); // failures are asserted through the store's counters
    clients.push(c);
    return c;
  };
  const ready = (c: Redis) => (c.status === 'ready' ? Promise.resolve() : new Promise<void>((r) => c.once('ready', () => r())));
  beforeAll(async () => {
    server = await startRedis();
  }, 30_000);
  afterAll(async () => {
    for (const c of clients) c.disconnect();
    await stopAllProcesses();
  });

  describeCapabilityStoreContract(
    'Redis (near cache + write-behind)',
    async ({ capacity, now }) => {
      const redis = client();
      await ready(redis);
      return new RedisCapabilityStore({ redis, capacity, now, prefix: `contract-${n++}:` });
    },
    async (store: CapabilityStore) => store.flush?.(),
  );

  it('evidence written at agent A decides at agent B after one prefetch', async () => {
    const a = new RedisCapabilityStore({ redis: client(), capacity: 100, prefix: 'shared:' });
    const b = new RedisCapabilityStore({ redis: client(), capacity: 100, prefix: 'shared:' });
    await Promise.all(clients.map(ready));
    const entry = { ...newEntry('sip:alice@ims.example.net', Date.now()), holdDownUntil: Date.now() + 60_000 };
    a.set(entry.aor, entry, Date.now() + 60_000);
    await a.flush();
    expect(b.get(entry.aor)).toBeUndefined();
    await b.prefetch(entry.aor);
    expect(b.get(entry.aor)?.holdDownUntil).toBe(entry.holdDownUntil);
    // A newer local write at B is not replaced by an older shared copy.
    const newer = { ...entry, updatedAt: entry.updatedAt + 10, holdDownUntil: undefined };
    b.set(entry.aor, newer, Date.now() + 60_000);
    await a.prefetch(entry.aor); // A still holds its own (older) copy; B's write reached Redis
    await b.flush();
    await a.prefetch(entry.aor);
    expect(a.get(entry.aor)?.holdDownUntil).toBeUndefined();
  });

  it('an entry expires in Redis by the TTL the table gave it', async () => {
    const redis = client();
    await ready(redis);
    const a = new RedisCapabilityStore({ redis, capacity: 10, prefix: 'ttl:' });
    a.set('sip:bob@x', newEntry('sip:bob@x', Date.now()), Date.now() + 300);
    await a.flush();
    const written = Date.now();
    expect(await redis.exists('ttl:sip:bob@x')).toBe(1);
    expect(await waitUntil(async () => (await redis.exists('ttl:sip:bob@x')) === 0, 5_000)).toBe(true);
    expect(Date.now() - written).toBeGreaterThanOrEqual(200); // gone by its TTL, not at once
  });

  it('Redis stopped: prefetch gives up within its bound, writes are counted, nothing throws; back when Redis is', async () => {
    const a = new RedisCapabilityStore({ redis: client(), capacity: 10, prefix: 'down:', prefetchTimeoutMs: 50 });
    const b = new RedisCapabilityStore({ redis: client(), capacity: 10, prefix: 'down:', prefetchTimeoutMs: 50 });
    await Promise.all(clients.map(ready));
    const local = newEntry('sip:carol@x', Date.now());
    a.set(local.aor, local, Date.now() + 60_000);
    await a.flush();
    await server.stop();
    const failedBefore = internalErrorCount('capability-store.prefetch');
    const t0 = Date.now();
    await b.prefetch('sip:carol@x');
    expect(Date.now() - t0).toBeLessThan(1_000);
    expect(b.get('sip:carol@x')).toBeUndefined(); // falls back to what B holds: nothing → "unknown" rules
    expect(internalErrorCount('capability-store.prefetch')).toBeGreaterThan(failedBefore);
    a.set(local.aor, { ...local, updatedAt: local.updatedAt + 1 }, Date.now() + 60_000);
    await a.flush(); // the failed write is counted, not thrown
    expect(a.get('sip:carol@x')).toBeDefined(); // A keeps deciding from its own evidence
    await server.restart();
    expect(await waitUntil(() => clients.every((c) => c.status === 'ready'), 10_000)).toBe(true);
    a.set(local.aor, { ...local, updatedAt: local.updatedAt + 2 }, Date.now() + 60_000);
    await a.flush();
    await b.prefetch('sip:carol@x');
    expect(b.get('sip:carol@x')?.updatedAt).toBe(local.updatedAt + 2);
  }, 30_000);
});

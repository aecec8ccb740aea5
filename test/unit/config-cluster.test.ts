/**
 * Cluster-mode config: the shared store and table are chosen by `kind`, each needs its URL, a URL may
 * carry a password but no message ever shows it, unknown kinds fail naming the field.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig, validateConfig } from '../../src/config/load-config.js';
import { redactUrl, scrubError, scrubUrls } from '../../src/lib/redact-url.js';
import { agentErrorOf } from '../support/error-code.js';

describe('cluster config', () => {
  it('defaults to one process: SQLite, an in-memory table, an instance id of host and pid', () => {
    const config = validateConfig({});
    expect(config.store.kind).toBe('sqlite');
    expect(config.capabilityTable.kind).toBe('memory');
    expect(config.store.postgres).toEqual({ poolSize: 10 });
    expect(config.capabilityTable.redis).toEqual({ keyPrefix: 'spa:' });
    expect(config.cluster.instanceId).toMatch(new RegExp(`-${process.pid}$`));
    expect(config.cluster).toMatchObject({ leaseMs: 10_000, tickMs: 2000, maxMovesPerTick: 200 });
  });

  it('postgres needs store.postgres.url, redis needs capabilityTable.redis.url', () => {
    const pg = agentErrorOf(() => validateConfig({ store: { kind: 'postgres' } }));
    expect(pg.code).toBe('CONFIG_INVALID');
    expect(pg.field).toBe('store.postgres.url');
    const redis = agentErrorOf(() => validateConfig({ capabilityTable: { kind: 'redis' } }));
    expect(redis.field).toBe('capabilityTable.redis.url');
    const ok = validateConfig({
      store: { kind: 'postgres', postgres: { url: 'postgres://spa:pw@127.0.0.1:5432/spa', poolSize: 4 } },
      capabilityTable: { kind: 'redis', redis: { url: 'redis://:pw@127.0.0.1:6379/0', keyPrefix: 'c1:' } },
      cluster: { instanceId: 'agent-a', leaseMs: 3000, tickMs: 1000 },
    });
    expect(ok.store.postgres.url).toBe('postgres://spa:pw@127.0.0.1:5432/spa');
    expect(ok.cluster.instanceId).toBe('agent-a');
  });

  it('an unknown kind fails naming the field and the allowed values (no silent fall-back)', () => {
    const store = agentErrorOf(() => validateConfig({ store: { kind: 'mysql' } }));
    expect(store.field).toBe('store.kind');
    expect(store.message).toContain('"sqlite", "postgres"');
    const table = agentErrorOf(() => validateConfig({ capabilityTable: { kind: 'memcached' } }));
    expect(table.field).toBe('capabilityTable.kind');
  });

  it('a URL of the wrong scheme is refused without echoing its password', () => {
    const err = agentErrorOf(() => validateConfig({ store: { kind: 'postgres', postgres: { url: 'mysql://u:hunter22@db/x' } } }));
    expect(err.field).toBe('store.postgres.url');
    expect(err.message).not.toContain('hunter22');
    expect(agentErrorOf(() => validateConfig({ capabilityTable: { redis: { url: 'http://r:6379' } } })).field).toBe(
      'capabilityTable.redis.url',
    );
  });

  it('tickMs must leave room for renewals within a lease', () => {
    expect(agentErrorOf(() => validateConfig({ cluster: { leaseMs: 3000, tickMs: 2000 } })).field).toBe('cluster.tickMs');
  });

  it('env overrides reach the cluster keys', () => {
    const config = loadConfig(undefined, {
      SPA__store__kind: 'postgres',
      SPA__store__postgres__url: 'postgresql://spa:pw@db:5432/spa',
      SPA__store__postgres__poolSize: '3',
      SPA__capabilityTable__kind: 'redis',
      SPA__capabilityTable__redis__url: 'redis://cache:6379',
      SPA__cluster__instanceId: 'b',
      SPA__cluster__leaseMs: '6000',
    });
    expect(config.store).toMatchObject({ kind: 'postgres', postgres: { url: 'postgresql://spa:pw@db:5432/spa', poolSize: 3 } });
    expect(config.capabilityTable.redis.url).toBe('redis://cache:6379');
    expect(config.cluster).toMatchObject({ instanceId: 'b', leaseMs: 6000 });
  });
});

describe('redactUrl / scrubError', () => {
  it('hides the password, keeps the rest', () => {
    expect(redactUrl('postgres://spa:s3cret@db:5432/spa')).toBe('postgres://spa:***@db:5432/spa');
    expect(redactUrl('redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379');
    expect(scrubUrls('connect to postgres://spa:s3cret@db/spa failed')).toBe('connect to postgres://spa:***@db/spa failed');
    const err = scrubError(Object.assign(new Error('auth failed for redis://:s3cret@r:6379 (s3cret)'), { code: 'E' }), ['s3cret']);
    expect(err.message).not.toContain('s3cret');
    expect((err as { code?: string }).code).toBe('E');
  });
});

/**
 * docker/compose.cluster.yaml read as data (no container engine needed; test/containers runs compose files
 * where one exists): every agent's environment, applied to the image's config the way the image does, is a
 * valid cluster-mode config pointing at the file's own PostgreSQL and Redis; instance ids differ; images
 * are pinned; the state engines have healthchecks the agents wait for.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config/load-config.js';
import { repoPath } from '../support/repo-paths.js';

interface Service {
  image?: string;
  build?: unknown;
  extends?: { file: string; service: string };
  environment?: Record<string, string>;
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }> | string[];
  networks?: { sip?: { ipv4_address?: string } };
}

const compose = parse(readFileSync(repoPath('docker/compose.cluster.yaml'), 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
};
const services = compose.services;
const agents = Object.entries(services).filter(([name]) => name.startsWith('agent-'));

/** `${NAME:-default}` as compose expands it with NAME unset. */
const expand = (value: string) => value.replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1');

describe('docker/compose.cluster.yaml', () => {
  it('runs three agents whose environment makes a valid cluster config against the file’s own PostgreSQL and Redis', () => {
    expect(agents.map(([name]) => name)).toEqual(['agent-1', 'agent-2', 'agent-3']);
    const ids = new Set<string>();
    for (const [name, service] of agents) {
      const env = Object.fromEntries(Object.entries(service.environment ?? {}).map(([k, v]) => [k, expand(String(v))]));
      const config = loadConfig(repoPath('docker/agent-config.yaml'), env);
      expect(config.store.kind, name).toBe('postgres');
      expect(config.capabilityTable.kind, name).toBe('redis');
      expect(new URL(config.store.postgres.url ?? '').hostname).toBe(services.postgres?.networks?.sip?.ipv4_address);
      expect(new URL(config.capabilityTable.redis.url ?? '').hostname).toBe(services.redis?.networks?.sip?.ipv4_address);
      expect(config.cluster.tickMs * 3).toBeLessThanOrEqual(config.cluster.leaseMs);
      ids.add(config.cluster.instanceId);
      expect(service.depends_on).toMatchObject({ postgres: { condition: 'service_healthy' }, redis: { condition: 'service_healthy' } });
    }
    expect(ids.size).toBe(3);
  });

  it('pins every image and gives PostgreSQL and Redis healthchecks', () => {
    for (const [name, service] of Object.entries(services)) {
      if (service.extends) continue; // defined (and pinned) in compose.yaml
      const image = service.image ?? '';
      if (service.build) expect(image, name).toMatch(/:local$/);
      else expect(image.replace(/^\$\{[A-Z_]+:-([^}]*)\}$/, '$1'), name).toMatch(/:\d+\.\d+(\.\d+)?(-[a-z]+)?$/);
    }
    expect(services.postgres?.image).toMatch(/^postgres:15\./);
    expect(services.redis?.image).toMatch(/^redis:7\./);
    expect(services.postgres?.healthcheck?.test).toContain('pg_isready');
    expect(services.redis?.healthcheck?.test).toEqual(['CMD', 'redis-cli', 'ping']);
  });
});

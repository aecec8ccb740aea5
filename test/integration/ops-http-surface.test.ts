/**
 * The HTTP surface against its description: the real agent (embedded engine, real store, real
 * listener; no SIP core needed) serves exactly the routes docs/openapi.yaml lists, in both directions;
 * the spec declares the security schemes and the 400/401/413/429/503 answers of the intake routes;
 * unknown routes and unknown JSON members answer the documented error shape; `/metrics` moves to a
 * port of its own or behind the admin token when configured.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { freePort } from '../support/ports.js';
import { repoPath } from '../support/repo-paths.js';
import { startAgentUnderTest, type AgentUnderTest } from '../support/agent-under-test.js';

const ADMIN_TOKEN = 'admin-token-for-tests';

interface Operation {
  security?: Record<string, string[]>[];
  responses: Record<string, unknown>;
}
interface Spec {
  paths: Record<string, Record<string, Operation>>;
  components: { securitySchemes: Record<string, { type: string; scheme: string }>; schemas: { Error: { required: string[] } } };
}

const spec = parseYaml(readFileSync(repoPath('docs/openapi.yaml'), 'utf8')) as Spec;
const METHODS = new Set(['get', 'put', 'post', 'delete', 'patch', 'options', 'head']);

/** `GET /v1/pushes/{pushId}` for every operation in the spec. */
function specRoutes(): string[] {
  return Object.entries(spec.paths).flatMap(([path, item]) =>
    Object.keys(item)
      .filter((m) => METHODS.has(m))
      .map((m) => `${m.toUpperCase()} ${path}`),
  );
}

let running: AgentUnderTest[] = [];
afterEach(async () => {
  await Promise.all(running.map((a) => a.stop()));
  running = [];
});

async function agent(config: Record<string, unknown> = {}): Promise<{ base: string; a: AgentUnderTest }> {
  const a = await startAgentUnderTest(
    { host: '127.0.0.1', port: await freePort() },
    { config: { admin: { token: ADMIN_TOKEN }, ...config } },
  );
  running.push(a);
  return { base: `http://127.0.0.1:${a.agent.http.port}`, a };
}

describe('served routes and docs/openapi.yaml', () => {
  it('every served route is in the spec and every spec route is served', async () => {
    const { a } = await agent();
    const served = [...new Set(a.agent.httpRoutes().map((r) => `${r.method} ${r.url.replace(/:(\w+)/g, '{$1}')}`))].sort();
    const documented = specRoutes().sort();
    expect(
      served.filter((r) => !documented.includes(r)),
      'served but not in docs/openapi.yaml',
    ).toEqual([]);
    expect(
      documented.filter((r) => !served.includes(r)),
      'in docs/openapi.yaml but not served',
    ).toEqual([]);
  });

  it('declares the security schemes and the intake answers 400/401/413/429/503', () => {
    expect(spec.components.securitySchemes).toMatchObject({
      adminToken: { type: 'http', scheme: 'bearer' },
      intakeBasic: { type: 'http', scheme: 'basic' },
      intakeBearer: { type: 'http', scheme: 'bearer' },
    });
    for (const [path, method] of [
      ['/pap', 'post'],
      ['/v1/pushes', 'post'],
    ] as const) {
      const op = spec.paths[path]?.[method] as Operation;
      expect(Object.keys(op.responses), `${method} ${path}`).toEqual(expect.arrayContaining(['400', '401', '413', '429', '503']));
      expect(op.security).toEqual(expect.arrayContaining([{ intakeBasic: [] }, { intakeBearer: [] }]));
    }
    for (const [path, item] of Object.entries(spec.paths).filter(([p]) => p.startsWith('/admin/'))) {
      for (const op of Object.values(item)) {
        expect(op.security, path).toEqual([{ adminToken: [] }]);
        expect(Object.keys(op.responses), path).toContain('401');
      }
    }
  });
});

describe('error shapes', () => {
  it('an unknown route answers 404 in the documented Error shape', async () => {
    const { base } = await agent();
    for (const [method, path] of [
      ['GET', '/nope'],
      ['POST', '/v2/pushes'],
      ['DELETE', '/pap'],
    ] as const) {
      const response = await fetch(`${base}${path}`, { method });
      expect(response.status, `${method} ${path}`).toBe(404);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      const body = (await response.json()) as Record<string, unknown>;
      for (const key of spec.components.schemas.Error.required) expect(body, `${method} ${path}`).toHaveProperty(key);
      expect(body.error).toBe('NOT_FOUND');
      expect(body.message).toContain(path);
    }
  });

  it('an unknown JSON member is refused by name (400 JSON_PUSH_INVALID)', async () => {
    const { base } = await agent();
    const response = await fetch(`${base}/v1/pushes`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ target: 'sip:alice@127.0.0.1', content: { text: 'hi' }, contentType: 'text/plain', colour: 'blue' }),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: 'JSON_PUSH_INVALID', field: 'colour' });
  });
});

describe('/metrics placement', () => {
  it('by default on the intake listener, open', async () => {
    const { base } = await agent();
    const response = await fetch(`${base}/metrics`);
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('spa_pushes_total');
  });

  it('metrics.port: on a listener of its own, gone from the intake listener', async () => {
    const { base, a } = await agent({ metrics: { port: 0 } });
    const own = a.agent.metricsHttp;
    expect(own).toBeDefined();
    expect(own?.port).not.toBe(a.agent.http.port);
    const scrape = await fetch(`http://127.0.0.1:${own?.port}/metrics`);
    expect(scrape.status).toBe(200);
    expect(await scrape.text()).toContain('spa_pushes_total');
    expect((await fetch(`${base}/metrics`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${own?.port}/pap`, { method: 'POST' })).status).toBe(404);
  });

  it('metrics.requireAdminToken: 401 without the admin token, 200 with it', async () => {
    const { base } = await agent({ metrics: { requireAdminToken: true } });
    const open = await fetch(`${base}/metrics`);
    expect(open.status).toBe(401);
    expect(open.headers.get('www-authenticate')).toMatch(/^Bearer/);
    const authorised = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(authorised.status).toBe(200);
  });
});

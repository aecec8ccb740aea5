/**
 * The admin API over a real socket: 404 when no token is configured, 401 for a missing or wrong token,
 * 200 for users, pushes, table counters and a forced presence refresh.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startOpsServer, type OpsServer, readJson } from './ops-server.js';
import { waitUntil } from '../support/poll.js';

const TOKEN = 'admin-token-for-tests';
const servers: OpsServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

async function start(adminToken?: string, reachable: string[] = []): Promise<OpsServer> {
  const server = await startOpsServer({ adminToken, reachable });
  servers.push(server);
  return server;
}

const auth = { authorization: `Bearer ${TOKEN}` };

describe('admin API authentication', () => {
  it('answers 404 ADMIN_DISABLED on every admin route when admin.token is not configured', async () => {
    const server = await start(undefined);
    for (const path of ['/admin/table', '/admin/users/sip%3Aa%40127.0.0.1', '/admin/pushes/x']) {
      const response = await fetch(`${server.url}${path}`, { headers: auth });
      expect(response.status).toBe(404);
      expect((await readJson(response)).error).toBe('ADMIN_DISABLED');
    }
    const refresh = await fetch(`${server.url}/admin/users/sip%3Aa%40127.0.0.1/refresh`, { method: 'POST', headers: auth });
    expect(refresh.status).toBe(404);
  });

  it('answers 401 ADMIN_UNAUTHORIZED with a Bearer challenge for a missing, wrong or non-Bearer token', async () => {
    const server = await start(TOKEN);
    const cases: Record<string, string>[] = [
      {},
      { authorization: 'Bearer wrong-token-value' },
      { authorization: `Bearer ${TOKEN}x` },
      { authorization: `Basic ${Buffer.from(`admin:${TOKEN}`).toString('base64')}` },
    ];
    for (const headers of cases) {
      const response = await fetch(`${server.url}/admin/table`, { headers });
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toMatch(/^Bearer /);
      expect((await readJson(response)).error).toBe('ADMIN_UNAUTHORIZED');
    }
  });
});

describe('admin API with the right token', () => {
  it('GET /admin/table returns the table counters and the presence watcher stats', async () => {
    const server = await start(TOKEN);
    server.table.recordDelivery('sip:erin@127.0.0.1', { status: 480 });
    const response = await fetch(`${server.url}/admin/table`, { headers: { authorization: `bearer ${TOKEN}` } });
    expect(response.status).toBe(200);
    const body = await readJson(response);
    expect(body.table).toMatchObject({ size: 1, maxUsers: 100 });
    expect(body.presence).toHaveProperty('notifiesReceived', 0);
  });

  it('DELETE /admin/users/:aor/hold-down lifts a hold-down (200 with the new decision); 404 when not held down', async () => {
    const server = await start(TOKEN);
    const aor = 'sip:hold@127.0.0.1';
    server.table.recordDelivery(aor, { status: 480 });
    expect(server.table.decide(aor).rule).toBe('hold-down');
    const url = `${server.url}/admin/users/${encodeURIComponent(aor)}/hold-down`;
    const cleared = await fetch(url, { method: 'DELETE', headers: auth });
    expect(cleared.status).toBe(200);
    expect(await readJson(cleared)).toMatchObject({ aor, holdDown: 'cleared', state: 'unknown' });
    expect(server.table.decide(aor).rule).not.toBe('hold-down');
    const again = await fetch(url, { method: 'DELETE', headers: auth });
    expect(again.status).toBe(404);
    expect((await readJson(again)).error).toBe('NOT_FOUND');
    expect((await fetch(url, { method: 'DELETE' })).status).toBe(401);
  });

  it('GET /admin/users/:aor shows state, reason, sources and age; 404 NOT_FOUND for an unknown user', async () => {
    const server = await start(TOKEN);
    const aor = 'sip:erin@127.0.0.1';
    server.table.recordDelivery(aor, { status: 480 });
    const response = await fetch(`${server.url}/admin/users/${encodeURIComponent(aor)}`, { headers: auth });
    expect(response.status).toBe(200);
    const body = await readJson(response);
    expect(body.aor).toBe(aor);
    expect(body.state).toBe('unreachable');
    expect(typeof body.reason).toBe('string');
    expect(body.sources.delivery).toMatchObject({ outcome: 'failed', status: 480 });
    expect(body.ageMs).toBeGreaterThanOrEqual(0);

    const unknown = await fetch(`${server.url}/admin/users/${encodeURIComponent('sip:nobody@127.0.0.1')}`, { headers: auth });
    expect(unknown.status).toBe(404);
    expect((await readJson(unknown)).error).toBe('NOT_FOUND');
  });

  it('GET /admin/pushes/:pushId shows state and history; 404 PUSH_NOT_FOUND for an unknown push', async () => {
    const server = await start(TOKEN, ['sip:frank@127.0.0.1']);
    const later = new Date(Date.now() + 3600_000).toISOString();
    const submitted = await fetch(`${server.url}/v1/pushes`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        target: 'sip:frank@127.0.0.1',
        content: { text: 'hi' },
        contentType: 'text/plain',
        pushId: 'admin-1',
        deliverAfter: later,
      }),
    });
    expect(submitted.status).toBe(202);
    const response = await fetch(`${server.url}/admin/pushes/admin-1`, { headers: auth });
    expect(response.status).toBe(200);
    const body = await readJson(response);
    expect(body).toMatchObject({
      pushId: 'admin-1',
      state: 'accepted',
      messageState: 'pending',
      source: 'json',
      aor: 'sip:frank@127.0.0.1',
    });
    expect(body.history).toEqual([expect.objectContaining({ to: 'accepted' })]);
    expect(body).not.toHaveProperty('requestBody');

    const missing = await fetch(`${server.url}/admin/pushes/nope`, { headers: auth });
    expect(missing.status).toBe(404);
    expect((await readJson(missing)).error).toBe('PUSH_NOT_FOUND');
  });

  it('POST /admin/users/:aor/refresh starts a refresh (202): the watcher tracks the user and a SUBSCRIBE goes out; 400 for a non-URI', async () => {
    const server = await start(TOKEN);
    const aor = 'sip:gina@127.0.0.1';
    const response = await fetch(`${server.url}/admin/users/${encodeURIComponent(aor)}/refresh`, { method: 'POST', headers: auth });
    expect(response.status).toBe(202);
    expect(await readJson(response)).toEqual({ aor, status: 'refresh-requested' });
    const tracked = Object.values(server.watcher.stats().subscriptions).reduce((sum, n) => sum + n, 0);
    expect(tracked).toBe(1);
    // The forced refresh really starts a SUBSCRIBE for a user the watcher had never seen.
    expect(await waitUntil(() => (server.engine.stats().requestsSent.SUBSCRIBE ?? 0) === 1, 2000)).toBe(true);

    const bad = await fetch(`${server.url}/admin/users/gina/refresh`, { method: 'POST', headers: auth });
    expect(bad.status).toBe(400);
    expect(await readJson(bad)).toMatchObject({ error: 'ADDRESS_INVALID', field: 'aor' });
  });
});

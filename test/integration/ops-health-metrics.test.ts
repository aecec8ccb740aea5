/**
 * /healthz, /readyz, /metrics and /openapi.yaml over a real socket.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { papPush, startOpsServer, type OpsServer, readJson } from './ops-server.js';

let server: OpsServer;
beforeEach(async () => {
  server = await startOpsServer();
});
afterEach(async () => {
  await server.stop();
});

describe('health and readiness', () => {
  it('answers /healthz up and /readyz ready with every check true', async () => {
    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await readJson(health)).toEqual({ status: 'up' });
    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await readJson(ready)).toEqual({ status: 'ready', checks: { sipEngine: true, store: true, storeWritable: true, intake: true } });
  });

  it('turns /readyz 503 when intake stops, and its store check false once the store is closed', async () => {
    server.pushes.stopAccepting();
    const stopping = await fetch(`${server.url}/readyz`);
    expect(stopping.status).toBe(503);
    expect((await readJson(stopping)).checks).toEqual({ sipEngine: true, store: true, storeWritable: true, intake: false });
    server.store.close();
    const closed = await fetch(`${server.url}/readyz`);
    expect(closed.status).toBe(503);
    expect((await readJson(closed)).checks.store).toBe(false);
  });
});

describe('/metrics', () => {
  it('exposes push, hand-back, SIP, presence, table, store and latency metrics after a push', async () => {
    const push = papPush('metrics-1', 'WAPPUSH=sip%3Acarol%40127.0.0.1/TYPE=USER');
    const pap = await fetch(`${server.url}/pap`, { method: 'POST', headers: { 'content-type': push.contentType }, body: push.body });
    expect(pap.status).toBe(200);
    expect(pap.headers.get('x-push-bearer-hint')).toBe('SMS');

    const response = await fetch(`${server.url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await response.text();
    expect(text).toContain('spa_pushes_total{outcome="handed-back",reason="not-sip-reachable"} 1');
    expect(text).toContain('spa_pushes_total{outcome="accepted",reason="sip-reachable"} 0');
    expect(text).toContain('spa_handbacks_total{hint="SMS",mode="sync"} 1');
    expect(text).toContain('spa_intake_duration_seconds_count{api="pap",outcome="handed-back"} 1');
    expect(text).toContain('spa_store_backlog 0');
    expect(text).toContain('spa_outbox_items{state="pending"} 0');
    expect(text).toContain('spa_store_pushes{state="accepted"} 0');
    expect(text).toContain('spa_sip_transaction_timeouts_total 0');
    expect(text).toContain('spa_sip_retransmissions_total 0');
    expect(text).toContain('spa_capability_table_size 0');
    expect(text).toContain('spa_capability_table_evictions_total{reason="capacity"} 0');
    expect(text).toContain('spa_presence_notifies_total 0');
    expect(text).toMatch(/spa_presence_subscriptions\{state="[a-z-]+"\} 0/);
    for (const name of [
      'spa_sip_requests_sent_total',
      'spa_sip_responses_received_total',
      'spa_push_queue',
      'spa_capability_table_lookups_total',
    ]) {
      expect(text).toContain(`# TYPE ${name}`);
    }
  });

  it('counts SIP requests by method and responses by status after the engine sent one', async () => {
    // The engine asks itself (OPTIONS outside a dialog is answered 200 by the engine, RFC 3261 §11.2).
    const self = server.engine.localAddresses()[0];
    const uri = `sip:ops@${self.host}:${self.port}`;
    const response = await server.engine.request({ method: 'OPTIONS', requestUri: uri, from: 'sip:push-agent@127.0.0.1', nextHop: self });
    expect(response.status).toBe(200);
    const text = await (await fetch(`${server.url}/metrics`)).text();
    expect(text).toContain('spa_sip_requests_sent_total{method="OPTIONS"} 1');
    expect(text).toContain('spa_sip_requests_received_total{method="OPTIONS"} 1');
    expect(text).toContain('spa_sip_responses_received_total{status="200"} 1');
  });
});

describe('/openapi.yaml', () => {
  it('serves the OpenAPI 3.1 description of the JSON push API and the admin API', async () => {
    const response = await fetch(`${server.url}/openapi.yaml`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/yaml/);
    const doc = parseYaml(await response.text()) as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/v1/pushes',
        '/v1/pushes/{pushId}',
        '/admin/users/{aor}',
        '/admin/users/{aor}/refresh',
        '/admin/pushes/{pushId}',
        '/admin/table',
      ]),
    );
  });
});

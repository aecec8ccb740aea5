/**
 * Hostile input on the intake, against the real agent (HTTP listener, push path, SQLite store, outbox):
 * PI-supplied values that would end up in an HTTP or SIP header are refused at intake naming the field
 * (PAP 2000 / JSON 400), never answered with a 500 nor accepted and retried for ever; hand-back metric
 * labels stay within a bounded vocabulary; a chunked upload far over the body limit is answered 413
 * before the connection closes.
 * The SIP core is a closed loopback port: nothing here needs one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/ports.js';
import { labProfile, papPush, postPap, startAgentUnderTest, userAddress, type AgentUnderTest } from '../support/agent-under-test.js';
import { planAgent, spawnAgent } from '../support/agent-process.js';
import { useProcessCleanup } from '../support/cleanup.js';

let sut: AgentUnderTest;
let base = '';

beforeAll(async () => {
  sut = await startAgentUnderTest({ host: '127.0.0.1', port: await freePort('127.0.0.1') }, { config: { policy: 'always-sip' } });
  base = `http://127.0.0.1:${sut.agent.http.port}`;
});
afterAll(async () => {
  await sut?.stop();
});

const ADDRESS = userAddress('sip:hostile@127.0.0.1');

async function postJson(body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${base}/v1/pushes`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

describe('header-bound PI values are validated at intake', () => {
  it('PAP: a bearer with CR/LF is PAP 2000 naming the field (bearer-required used to answer HTTP 500)', async () => {
    for (const [pushId, required] of [['crlf-req', true], ['crlf-opt', false]] as const) {
      const res = await postPap(sut.papUrl, papPush({ pushId, address: ADDRESS, content: Buffer.from('x'), bearer: 'SMS&#13;&#10;X-Injected: 1', bearerRequired: required }));
      expect(res.status).toBe(400);
      expect(res.text).toContain('code="2000"');
      expect(res.text).toContain('quality-of-service&gt; bearer: must be printable US-ASCII');
      expect([...res.headers.keys()]).not.toContain('x-injected');
      expect(sut.agent.store.get(pushId)).toBeUndefined();
    }
  });

  it('PAP: control characters in push-id, network and the content entity headers are PAP 2000 naming the field', async () => {
    // Each case: what the badmessage desc must name (XML-escaped), and the request.
    const cases: Array<[string, { contentType: string; body: Buffer }]> = [
      ['push-message&gt; push-id:', papPush({ pushId: 'a&#10;b', address: ADDRESS, content: Buffer.from('x') })],
      ['content header Content-Type', papPush({ pushId: 'ct-1', address: ADDRESS, content: Buffer.from('x'), contentType: 'text/plain;\u0001x=y' })],
      ['X-Wap-Application-Id', papPush({ pushId: 'app-1', address: ADDRESS, content: Buffer.from('x'), appId: 'x-wap-application:wml.ua\u0000' })],
    ];
    const network = papPush({ pushId: 'net-1', address: ADDRESS, content: Buffer.from('x') });
    cases.push(['quality-of-service&gt; network:', { ...network, body: Buffer.from(network.body.toString('latin1').replace('</push-message>', '<quality-of-service network="GSM&#13;&#10;x"/></push-message>'), 'latin1') }]);
    for (const [field, request] of cases) {
      const res = await postPap(sut.papUrl, request);
      expect(res.status, field).toBe(400);
      expect(res.text, field).toContain('code="2000"');
      expect(res.text, field).toContain(field);
    }
  });

  it('JSON API: bearer, contentType, appId and target with CR/LF or controls → 400 naming the field', async () => {
    const valid = { target: 'sip:hostile@127.0.0.1', content: { text: 'hi' }, contentType: 'text/plain' };
    const cases: Array<[string, Record<string, unknown>]> = [
      ['bearer', { ...valid, bearer: 'SMS\r\nX-Injected: 1' }],
      ['contentType', { ...valid, contentType: 'text/plain\r\n;x=y' }],
      ['contentType', { ...valid, contentType: 'text/plain;x=\u0000' }],
      ['appId', { ...valid, appId: 'x-wap-application:wml.ua\r\nX: y' }],
      ['target', { ...valid, target: 'sip:a\u0000b@127.0.0.1' }],
      ['target', { ...valid, target: 'sip:a>,<sip:b@127.0.0.1' }],
    ];
    for (const [field, body] of cases) {
      const { status, json } = await postJson(body);
      expect(status, JSON.stringify(body)).toBe(400);
      expect(json, JSON.stringify(body)).toMatchObject({ error: 'JSON_PUSH_INVALID', field });
    }
  });
});

describe('metric labels stay bounded', () => {
  it('300 hand-backs with random PI bearers make at most vocabulary + "other" series of spa_handbacks_total', async () => {
    for (let i = 0; i < 300; i += 1) {
      const bearer = `B${Math.random().toString(36).slice(2, 10)}`;
      const res = await postPap(sut.papUrl, papPush({ pushId: `card-${i}`, address: ADDRESS, content: Buffer.from('x'), bearer, bearerRequired: true }));
      expect(res.text).toContain('code="3010"');
    }
    const res = await postPap(sut.papUrl, papPush({ pushId: 'card-sms', address: ADDRESS, content: Buffer.from('x'), bearer: 'sms', bearerRequired: true }));
    expect(res.text).toContain('code="3010"');
    const metrics = await (await fetch(`${base}/metrics`)).text();
    const series = metrics.split('\n').filter((line) => line.startsWith('spa_handbacks_total{'));
    expect(series.length).toBeLessThanOrEqual(2 * 6);
    expect(series).toContainEqual(expect.stringMatching(/^spa_handbacks_total\{hint="other",mode="sync"\} 300$/));
    expect(series).toContainEqual(expect.stringMatching(/^spa_handbacks_total\{hint="SMS",mode="sync"\} 1$/));
  });
});

describe('oversized chunked upload', () => {
  useProcessCleanup('each');

  it('20 MB chunked gets HTTP 413 before the connection closes (fetch used to fail with EPIPE), and the agent keeps serving', async () => {
    // A separate agent process: client and server in one event loop interleave too politely to show it.
    const agent = spawnAgent(await planAgent(labProfile({ host: '127.0.0.1', port: await freePort('127.0.0.1') }), { log: { level: 'warn', pretty: false } }));
    await agent.ready(20_000);
    const push = papPush({ pushId: 'huge-1', address: ADDRESS, content: Buffer.from('x') });
    const chunk = new Uint8Array(64 * 1024).fill(0x41);
    for (let attempt = 0; attempt < 3; attempt += 1) {
      let sent = 0;
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new Uint8Array(push.body));
        },
        pull(controller) {
          if (sent >= 20 * 1024 * 1024) return controller.close();
          sent += chunk.length;
          controller.enqueue(chunk);
        },
      });
      const res = await fetch(agent.papUrl, { method: 'POST', headers: { 'content-type': push.contentType }, body, duplex: 'half' } as RequestInit);
      expect(res.status).toBe(413);
      expect(await res.text()).toContain('code="2000"');
    }
    expect((await fetch(`${agent.baseUrl}/healthz`)).status).toBe(200);
    await agent.stop();
  }, 60_000);
});

/**
 * Hostile input on the intake, against the real agent (HTTP listener, push path, SQLite store, outbox):
 * PI-supplied values that would end up in an HTTP or SIP header are refused at intake naming the field
 * (PAP 2000 / JSON 400), never answered with a 500 nor accepted and retried for ever; hand-back metric
 * labels stay within a bounded vocabulary; a chunked upload far over the body limit is answered 413
 * before the connection closes; notification URLs are allow-listed per PI and carry no credentials; one
 * PI cannot query, read or cancel another's push (the answer is the one for an unknown push-id).
 * The SIP core is a closed loopback port: nothing here needs one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/ports.js';
import {
  labProfile,
  papControl,
  papPush,
  postPap,
  startAgentUnderTest,
  userAddress,
  type AgentUnderTest,
} from '../support/agent-under-test.js';
import { planAgent, spawnAgent } from '../support/agent-process.js';
import { useProcessCleanup } from '../support/cleanup.js';

let sut: AgentUnderTest;
let base = '';

beforeAll(async () => {
  // No SIP core at the proxy address: core-health probes off (they would answer later pushes 3010).
  sut = await startAgentUnderTest(
    { host: '127.0.0.1', port: await freePort('127.0.0.1') },
    { config: { policy: 'always-sip', sip: { coreHealth: { intervalMs: 0 } } } },
  );
  base = `http://127.0.0.1:${sut.agent.http.port}`;
});
afterAll(async () => {
  await sut?.stop();
});

const ADDRESS = userAddress('sip:hostile@127.0.0.1');

async function postJson(body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${base}/v1/pushes`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

describe('header-bound PI values are validated at intake', () => {
  it('PAP: a bearer with CR/LF is PAP 2000 naming the field (bearer-required used to answer HTTP 500)', async () => {
    for (const [pushId, required] of [
      ['crlf-req', true],
      ['crlf-opt', false],
    ] as const) {
      const res = await postPap(
        sut.papUrl,
        papPush({ pushId, address: ADDRESS, content: Buffer.from('x'), bearer: 'SMS&#13;&#10;X-Injected: 1', bearerRequired: required }),
      );
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
      [
        'content header Content-Type',
        papPush({ pushId: 'ct-1', address: ADDRESS, content: Buffer.from('x'), contentType: 'text/plain;\u0001x=y' }),
      ],
      [
        'X-Wap-Application-Id',
        papPush({ pushId: 'app-1', address: ADDRESS, content: Buffer.from('x'), appId: 'x-wap-application:wml.ua\u0000' }),
      ],
    ];
    const network = papPush({ pushId: 'net-1', address: ADDRESS, content: Buffer.from('x') });
    cases.push([
      'quality-of-service&gt; network:',
      {
        ...network,
        body: Buffer.from(
          network.body.toString('latin1').replace('</push-message>', '<quality-of-service network="GSM&#13;&#10;x"/></push-message>'),
          'latin1',
        ),
      },
    ]);
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
      const res = await postPap(
        sut.papUrl,
        papPush({ pushId: `card-${i}`, address: ADDRESS, content: Buffer.from('x'), bearer, bearerRequired: true }),
      );
      expect(res.text).toContain('code="3010"');
    }
    const res = await postPap(
      sut.papUrl,
      papPush({ pushId: 'card-sms', address: ADDRESS, content: Buffer.from('x'), bearer: 'sms', bearerRequired: true }),
    );
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
    const agent = spawnAgent(
      await planAgent(labProfile({ host: '127.0.0.1', port: await freePort('127.0.0.1') }), { log: { level: 'warn', pretty: false } }),
    );
    await agent.ready();
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
      const res = await fetch(agent.papUrl, {
        method: 'POST',
        headers: { 'content-type': push.contentType },
        body,
        duplex: 'half',
      } as RequestInit);
      expect(res.status).toBe(413);
      expect(await res.text()).toContain('code="2000"');
    }
    expect((await fetch(`${agent.baseUrl}/healthz`)).status).toBe(200);
    await agent.stop();
  }, 60_000);
});

describe('PIs apart: notify destinations and tenancy', () => {
  const A = { name: 'pi-a', password: 'pw-a-secret-1' };
  const B = { name: 'pi-b', token: 'tok-b-0123456789abcdef', notifyPrefixes: ['http://127.0.0.1:9/b/'] };
  const ADMIN = 'admin-token-5f2e';
  const asA = `Basic ${Buffer.from(`${A.name}:${A.password}`).toString('base64')}`;
  const asB = `Bearer ${B.token}`;
  const asAdmin = `Bearer ${ADMIN}`;
  let two: AgentUnderTest;
  let url = '';

  beforeAll(async () => {
    two = await startAgentUnderTest(
      { host: '127.0.0.1', port: await freePort('127.0.0.1') },
      {
        config: {
          policy: 'always-sip',
          sip: { coreHealth: { intervalMs: 0 } },
          intake: { auth: { users: [A, B] } },
          admin: { token: ADMIN },
        },
      },
    );
    url = `http://127.0.0.1:${two.agent.http.port}`;
  });
  afterAll(async () => {
    await two?.stop();
  });

  const later = () => new Date(Date.now() + 3600_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  async function pap(authorization: string, request: { contentType: string; body: Buffer }) {
    const res = await fetch(`${url}/pap`, {
      method: 'POST',
      headers: { 'content-type': request.contentType, authorization },
      body: request.body,
    });
    return { status: res.status, text: await res.text() };
  }
  const push = (pushId: string, notifyTo?: string) =>
    papPush({ pushId, address: ADDRESS, content: Buffer.from('x'), deliverAfter: later(), ...(notifyTo ? { notifyTo } : {}) });
  /** An answer with the push-id and times taken out, to compare "someone else's" with "unknown". */
  const shape = (text: string, pushId: string) =>
    text
      .split(pushId)
      .join('<id>')
      .replace(/[\w-]+-time="[^"]*"/g, '');

  it('a notify URL with user:password@ is PAP 2000 naming the field (JSON: 400 notifyUrl)', async () => {
    const res = await pap(asA, push('cred-1', `http://user:pw-notify-9@127.0.0.1:${two.ppg.port}/notify`));
    expect(res.status).toBe(400);
    expect(res.text).toContain('code="2000"');
    expect(res.text).toContain('ppg-notify-requested-to: must not carry credentials');
    const json = await fetch(`${url}/v1/pushes`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: asA },
      body: JSON.stringify({
        target: 'sip:hostile@127.0.0.1',
        content: { text: 'x' },
        contentType: 'text/plain',
        notifyUrl: 'http://u:p@127.0.0.1:9/n',
      }),
    });
    expect(json.status).toBe(400);
    expect(await json.json()).toMatchObject({ error: 'JSON_PUSH_INVALID', field: 'notifyUrl' });
    expect(two.agent.store.get('cred-1')).toBeUndefined();
  });

  it("notify destinations: the PPG origin by default, the PI's own prefixes when configured; others PAP 2001", async () => {
    const elsewhere = `http://127.0.0.1:${await freePort('127.0.0.1')}/internal`;
    const refused = await pap(asA, push('ssrf-1', elsewhere));
    expect(refused.text).toContain('code="2001"');
    expect(refused.text).toContain('ppg-notify-requested-to');
    expect(two.agent.store.get('ssrf-1')).toBeUndefined();
    expect((await pap(asA, push('ssrf-2', two.ppg.url('/notify')))).text).toContain('code="1001"');
    expect((await pap(asB, push('ssrf-3', 'http://127.0.0.1:9/b/notify'))).text).toContain('code="1001"');
    expect((await pap(asB, push('ssrf-4', two.ppg.url('/notify')))).text).toContain('code="2001"');
    expect((await pap(asB, push('ssrf-5', 'http://127.0.0.1:9/b-other/notify'))).text).toContain('code="2001"');
    const json = await fetch(`${url}/v1/pushes`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: asA },
      body: JSON.stringify({ target: 'sip:hostile@127.0.0.1', content: { text: 'x' }, contentType: 'text/plain', notifyUrl: elsewhere }),
    });
    expect(json.status).toBe(403);
    expect(await json.json()).toMatchObject({ outcome: 'rejected', papCode: 2001 });
  });

  it("PI B cannot status-query, read or cancel PI A's push: the answers equal those for an unknown push-id", async () => {
    expect((await pap(asA, push('ten-a'))).text).toContain('code="1001"');
    expect(two.agent.store.get('ten-a')).toMatchObject({ submittedBy: 'pi-a', state: 'accepted' });

    const queryOther = await pap(asB, papControl('statusquery-message', 'ten-a'));
    const queryUnknown = await pap(asB, papControl('statusquery-message', 'ten-none'));
    expect(queryOther.text).toContain('code="2004"');
    expect(shape(queryOther.text, 'ten-a')).toBe(shape(queryUnknown.text, 'ten-none'));
    expect(queryOther.text).not.toContain('hostile');

    const readOther = await fetch(`${url}/v1/pushes/ten-a`, { headers: { authorization: asB } });
    const readUnknown = await fetch(`${url}/v1/pushes/ten-none`, { headers: { authorization: asB } });
    expect(readOther.status).toBe(404);
    expect(shape(await readOther.text(), 'ten-a')).toBe(shape(await readUnknown.text(), 'ten-none'));

    const cancelOther = await pap(asB, papControl('cancel-message', 'ten-a'));
    const cancelUnknown = await pap(asB, papControl('cancel-message', 'ten-none'));
    expect(cancelOther.text).toContain('code="2004"');
    expect(shape(cancelOther.text, 'ten-a')).toBe(shape(cancelUnknown.text, 'ten-none'));
    expect(two.agent.store.get('ten-a')?.state).toBe('accepted');

    // The owner and the admin token see it.
    expect((await pap(asA, papControl('statusquery-message', 'ten-a'))).text).toContain('message-state="pending"');
    expect((await fetch(`${url}/v1/pushes/ten-a`, { headers: { authorization: asA } })).status).toBe(200);
    expect((await fetch(`${url}/v1/pushes/ten-a`, { headers: { authorization: asAdmin } })).status).toBe(200);
    expect((await pap(asAdmin, papControl('cancel-message', 'ten-a'))).text).toContain('code="1000"');
    expect(two.agent.store.get('ten-a')?.state).toBe('cancelled');
  });
});

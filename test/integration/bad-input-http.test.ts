/**
 * Bad input on the HTTP intake, end to end through the real listener (fastify) and push path: random
 * bodies and content types (fast-check) always get a PAP or HTTP answer — never a 5xx other than PAP
 * 4001's 503, never a crash — and the agent keeps serving; XXE, billion laughs and deep nesting are
 * refused with PAP 2000; oversized bodies get 413; slow clients are cut by the request timeout.
 * The SIP core is a closed port (nothing here needs one) and the policy is always-sip, so accepted
 * pushes end up handed back in the background.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/ports.js';
import { repoPath } from '../support/repo-paths.js';
import { intakeRequest, validPush } from '../support/pap-arbitraries.js';
import { postPap, startAgentUnderTest, type AgentUnderTest } from '../support/agent-under-test.js';

const REQUEST_TIMEOUT_MS = 1000;
const BODY_LIMIT = 8192;
let sut: AgentUnderTest;
let port = 0;

beforeAll(async () => {
  sut = await startAgentUnderTest(
    { host: '127.0.0.1', port: await freePort('127.0.0.1') },
    {
      config: {
        policy: 'always-sip',
        // No SIP core at the proxy address: the core-health probes would (rightly) declare it down and
        // answer later pushes 3010, which is not what these tests measure.
        sip: { coreHealth: { intervalMs: 0 } },
        http: { host: '127.0.0.1', port: 0, bodyLimitBytes: BODY_LIMIT, requestTimeoutMs: REQUEST_TIMEOUT_MS },
        limits: { maxInFlight: 50, maxQueued: 100_000 },
      },
    },
  );
  port = sut.agent.http.port;
});
afterAll(async () => {
  await sut?.stop();
});

async function serving(): Promise<void> {
  const health = await fetch(`http://127.0.0.1:${port}/healthz`);
  expect(health.status).toBe(200);
  const push = validPush(`alive-${Math.random().toString(36).slice(2)}`);
  const res = await postPap(sut.papUrl, push);
  expect(res.text).toContain('code="1001"');
}

/** Opens a raw TCP connection, runs `drive`, resolves with how long until the server closed it. */
function timeUntilClosed(drive: (socket: net.Socket) => void, limitMs = 8000): Promise<{ ms: number; reply: string }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    let reply = '';
    const socket = net.connect(port, '127.0.0.1', () => drive(socket));
    socket.on('data', (d) => (reply += d.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(guard);
      resolve({ ms: Date.now() - started, reply });
    });
    const guard = setTimeout(() => {
      socket.destroy();
      reject(new Error(`server kept a slow connection open for ${limitMs} ms`));
    }, limitMs);
  });
}

describe('bad input on the HTTP intake', () => {
  it('random bodies and content types: always a PAP/HTTP answer, never a 500, and the agent keeps serving', async () => {
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(intakeRequest, async ({ contentType, body }) => {
        const res = await fetch(sut.papUrl, { method: 'POST', headers: contentType ? { 'content-type': contentType } : {}, body });
        const text = await res.text();
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        expect([200, 202, 400, 413, 415, 503]).toContain(res.status);
        if ((res.headers.get('content-type') ?? '').includes('xml')) expect(text).toMatch(/<pap\b[\s\S]*code="\d{4}"/);
        else expect(JSON.parse(text)).toHaveProperty('error');
      }),
      { numRuns: 400 },
    );
    console.log(`bad-input-http: 400 random requests → HTTP ${JSON.stringify(Object.fromEntries(statuses))}`);
    await serving();
  }, 60_000);

  it('refuses XXE, billion laughs and deep nesting with PAP 2000, fast, reading no file', async () => {
    const deep = Buffer.from(`<?xml version="1.0"?><pap>${'<a>'.repeat(1000)}${'</a>'.repeat(1000)}</pap>`);
    for (const body of [
      readFileSync(repoPath('test/fixtures/pap/xxe-external-entity.xml')),
      readFileSync(repoPath('test/fixtures/pap/billion-laughs.xml')),
      deep,
    ]) {
      const t0 = Date.now();
      const res = await postPap(sut.papUrl, { contentType: 'application/xml', body });
      expect(res.status).toBe(400);
      expect(res.text).toContain('badmessage-response');
      expect(res.text).toContain('code="2000"');
      expect(res.text).not.toContain('root:');
      expect(Date.now() - t0).toBeLessThan(1000);
    }
    await serving();
  });

  it('answers 413 to a body over http.bodyLimitBytes (declared or chunked) and keeps serving', async () => {
    const big = validPush('too-big');
    const body = Buffer.concat([big.body, Buffer.alloc(BODY_LIMIT, 0x41)]);
    const declared = await fetch(sut.papUrl, { method: 'POST', headers: { 'content-type': big.contentType }, body });
    expect(declared.status).toBe(413);
    const declaredText = await declared.text();
    expect(declaredText).toContain('badmessage-response');
    expect(declaredText).toContain('code="2000"');
    const chunked = await fetch(sut.papUrl, {
      method: 'POST',
      headers: { 'content-type': big.contentType },
      body: new ReadableStream({
        start(controller) {
          for (let i = 0; i < 8; i += 1) controller.enqueue(new Uint8Array(BODY_LIMIT / 4));
          controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    expect(chunked.status).toBe(413);
    expect(sut.agent.store.get('too-big')).toBeUndefined();
    await serving();
  });

  it('cuts slow clients (headers then nothing, a trickled body, an idle connection) by the request timeout', async () => {
    const head = `POST /pap HTTP/1.1\r\nHost: x\r\nContent-Type: application/xml\r\nContent-Length: 500\r\n\r\n`;
    const stall = timeUntilClosed((s) => s.write(head));
    const trickle = timeUntilClosed((s) => {
      s.write(head);
      const timer = setInterval(() => (s.writable ? s.write('<') : clearInterval(timer)), 100);
      s.on('close', () => clearInterval(timer));
    });
    const idle = timeUntilClosed(() => undefined);
    const partialHeaders = timeUntilClosed((s) => {
      s.write('POST /pap HTTP/1.1\r\nHost: x\r\n');
      const timer = setInterval(() => (s.writable ? s.write('X-A: b\r\n') : clearInterval(timer)), 100);
      s.on('close', () => clearInterval(timer));
    });
    await serving(); // others are served meanwhile
    const results = await Promise.all([stall, trickle, idle, partialHeaders]);
    console.log(
      `bad-input-http: slow clients cut after ${results.map((r) => r.ms).join(' / ')} ms (stall / trickle / idle / partial headers; timeout ${REQUEST_TIMEOUT_MS} ms)`,
    );
    for (const r of results) {
      expect(r.ms).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS * 0.9);
      expect(r.ms).toBeLessThan(REQUEST_TIMEOUT_MS * 2 + 500);
    }
    await serving();
  }, 20_000);
});

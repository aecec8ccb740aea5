/**
 * Security of the intake, against the real HTTP listener: per-PI credentials (Basic and
 * Bearer; the JSON push API too), the per-PI rate limit (PAP 4001 with HTTP 429 and Retry-After, other PIs
 * unaffected, recovery), HTTPS with a throw-away self-signed certificate, and no secret, credential or
 * push content in the logs even at trace level.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { startAgent, type RunningAgent } from '../../src/agent.js';
import type { AgentConfigInput } from '../../src/config/config-schema.js';
import { validateConfig } from '../../src/config/load-config.js';
import { REDACT_PATHS } from '../../src/lib/logger.js';
import { freePort } from '../support/ports.js';
import { makeTempDir } from '../support/repo-paths.js';
import { labProfile, papPush, userAddress } from '../support/agent-under-test.js';
import { validPush } from '../support/pap-arbitraries.js';
import { eventually, waitFor } from '../support/poll.js';

const PASSWORD = 'pw-Zr8#kq11';
const TOKEN = 'tok-9f1c2e77aa55d0b3';
const USERS = [
  { name: 'pi-basic', password: PASSWORD },
  { name: 'pi-bearer', token: TOKEN },
];
const basic = (name: string, password: string) => `Basic ${Buffer.from(`${name}:${password}`).toString('base64')}`;

let agent: RunningAgent | undefined;
afterEach(async () => {
  await agent?.stop({ drainMs: 500 });
  agent = undefined;
});

async function start(config: AgentConfigInput, logLines?: string[]): Promise<{ base: string; agent: RunningAgent }> {
  const core = { host: '127.0.0.1', port: await freePort('127.0.0.1') };
  const sipPort = await freePort('127.0.0.2');
  const logger = logLines
    ? pino(
        { level: 'trace', redact: { paths: REDACT_PATHS, censor: '[redacted]' } },
        new Writable({
          write(chunk: Buffer, _enc, done) {
            logLines.push(chunk.toString('utf8'));
            done();
          },
        }),
      )
    : pino({ level: 'silent' });
  const validated = validateConfig({
    policy: 'always-sip',
    // No SIP core listens here; without probes the core is never declared down, so an accepted push stays
    // 1001 (HTTP 202) and the answers below speak about intake security only.
    sip: {
      listen: [{ host: '127.0.0.2', port: sipPort, transport: 'udp' }],
      timers: { t1Ms: 20, t2Ms: 100, t4Ms: 100 },
      coreHealth: { intervalMs: 0 },
    },
    http: { host: '127.0.0.1', port: 0, ...config.http },
    ppg: { handBackUrl: `http://127.0.0.1:${await freePort('127.0.0.1')}/handback` },
    store: { path: join(makeTempDir('sec'), 'pushes.sqlite') },
    ...config,
  });
  agent = await startAgent(validated, logger, { profile: labProfile(core) });
  return { base: `${validated.http.tls ? 'https' : 'http'}://127.0.0.1:${agent.http.port}`, agent };
}

async function pap(base: string, pushId: string, authorization?: string) {
  const push = papPush({ pushId, address: userAddress('sip:sec@127.0.0.1'), content: Buffer.from('SECRET-CONTENT-4711') });
  const res = await fetch(`${base}/pap`, {
    method: 'POST',
    headers: { 'content-type': push.contentType, ...(authorization ? { authorization } : {}) },
    body: push.body,
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

describe('intake security', () => {
  it('per-PI credentials: 401 with a Basic+Bearer challenge without or with wrong ones; Basic and Bearer accepted', async () => {
    const { base } = await start({ intake: { auth: { users: USERS } } });
    const none = await pap(base, 'a-1');
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Basic realm=.*Bearer realm=/);
    expect(JSON.parse(none.text).error).toBe('INTAKE_UNAUTHORIZED');
    for (const wrong of [
      basic('pi-basic', 'nope-nope'),
      basic('pi-bearer', TOKEN),
      `Bearer ${PASSWORD}`,
      `Bearer ${TOKEN}x`,
      'Basic %%%',
      'Digest x',
    ]) {
      expect((await pap(base, 'a-2', wrong)).status).toBe(401);
    }
    expect((await pap(base, 'a-3', basic('pi-basic', PASSWORD))).text).toContain('code="1001"');
    expect((await pap(base, 'a-4', `Bearer ${TOKEN}`)).text).toContain('code="1001"');
    expect((await pap(base, 'a-5', `bearer ${TOKEN}`)).text).toContain('code="1001"');
    // The JSON push API is intake too; health is not.
    expect((await fetch(`${base}/v1/pushes/a-3`)).status).toBe(401);
    expect((await fetch(`${base}/v1/pushes/a-3`, { headers: { authorization: basic('pi-basic', PASSWORD) } })).status).toBe(200);
    // Another PI reads it as a push-id that does not exist (tenancy: hostile-intake.test.ts).
    expect((await fetch(`${base}/v1/pushes/a-3`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(404);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });

  it('per-PI rate limit: over the bucket → PAP 4001, HTTP 429, Retry-After; other PIs unaffected; refills', async () => {
    // A token every 10 s: five requests in a row stay inside one refill even on a heavily loaded machine.
    const { base } = await start({ intake: { auth: { users: USERS }, rateLimit: { perSecond: 0.1, burst: 3 } } });
    const a = basic('pi-basic', PASSWORD);
    const codes: number[] = [];
    for (let i = 0; i < 5; i += 1) codes.push((await pap(base, `r-${i}`, a)).status);
    expect(codes).toEqual([202, 202, 202, 429, 429]);
    const limited = await pap(base, 'r-x', a);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(Number(limited.headers.get('retry-after'))).toBeLessThanOrEqual(10);
    expect(limited.text).toContain('code="4001"');
    expect(limited.text).toContain('push-id="r-x"');
    expect(agent!.store.get('r-x')).toBeUndefined();
    expect((await pap(base, 'r-other', `Bearer ${TOKEN}`)).status).toBe(202);
    // Refills: accepted again within a few token periods (polled every 100 ms for up to 25 s).
    let attempt = 0;
    const later = await eventually(
      async () => (await pap(base, `r-later-${attempt++}`, a)).status,
      (status) => status === 202,
      25_000,
      100,
    );
    expect(later).toBe(202);
  });

  it('open intake: anyone may push (and the start-up log says so); rate limit keyed by source address', async () => {
    const lines: string[] = [];
    const { base } = await start({ intake: { rateLimit: { perSecond: 1, burst: 1 } } }, lines);
    expect(lines.join('')).toContain('intake is open');
    expect((await pap(base, 'o-1')).status).toBe(202);
    expect((await pap(base, 'o-2')).status).toBe(429);
  });

  it('serves HTTPS with the configured certificate and key', async () => {
    const dir = makeTempDir('tls');
    const certPath = join(dir, 'cert.pem');
    const keyPath = join(dir, 'key.pem');
    try {
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-keyout',
          keyPath,
          '-out',
          certPath,
          '-days',
          '1',
          '-subj',
          '/CN=127.0.0.1',
          '-addext',
          'subjectAltName=IP:127.0.0.1',
        ],
        { stdio: 'ignore' },
      );
    } catch {
      console.warn('bad-input-security: openssl not available, HTTPS test skipped');
      return;
    }
    const { base } = await start({ http: { tls: { certPath, keyPath } } });
    expect(base.startsWith('https://')).toBe(true);
    const push = validPush('tls-1');
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = https.request(
        `${base}/pap`,
        { method: 'POST', ca: readFileSync(certPath), headers: { 'content-type': push.contentType } },
        (res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('error', reject);
      req.end(push.body);
    });
    expect(answer.status).toBe(202);
    expect(answer.body).toContain('code="1001"');
    await expect(fetch(`${base.replace('https', 'http')}/healthz`)).rejects.toThrow();
  });

  it('logs no password, token, Authorization header or push content, even at trace level', async () => {
    const lines: string[] = [];
    const { base } = await start({ intake: { auth: { users: USERS } } }, lines);
    await pap(base, 'l-1', basic('pi-basic', PASSWORD));
    await pap(base, 'l-2', `Bearer ${TOKEN}`);
    await pap(base, 'l-3', basic('pi-basic', 'wrong-password'));
    await pap(base, 'l-4', `Bearer wrong-${TOKEN}`);
    // The accepted two go through delivery (Timer F: no core listens) into the hand-back, so those log lines
    // are scanned too.
    const leftDelivery = (id: string) => !['accepted', 'delivering'].includes(agent!.store.get(id)?.state ?? 'accepted');
    await waitFor(() => leftDelivery('l-1') && leftDelivery('l-2'), 'l-1 and l-2 to time out and hand back', 15_000);
    const all = lines.join('');
    expect(lines.length).toBeGreaterThan(5);
    for (const secret of [
      PASSWORD,
      TOKEN,
      'wrong-password',
      Buffer.from(`pi-basic:${PASSWORD}`).toString('base64'),
      'SECRET-CONTENT-4711',
    ]) {
      expect(all).not.toContain(secret);
    }
    expect(all).toContain('authentication failed');
  });
});

/**
 * Fault: graceful shutdown. The agent runs as its own OS process; SIGTERM arrives while a
 * SIP MESSAGE is in flight to a UA that never answers. While the agent drains, new pushes get PAP 4001
 * (HTTP 503, Retry-After); the in-flight transaction reaches an outcome (Timer F = 64·T1 with T1 = 50 ms
 * is inside the 5 s drain bound); the process exits 0 within the bound. A second signal exits at once.
 */
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { useProcessCleanup } from '../support/cleanup.js';
import { kamailioMissingReason, startKamailio } from '../support/kamailio.js';
import { runSipp, sippMissingReason } from '../support/sipp.js';
import { registerUser } from '../support/sip-users.js';
import { labProfile, papPush, PpgStandIn, userAddress } from '../support/agent-under-test.js';
import { planAgent, spawnAgent } from '../support/agent-process.js';
import { waitFor, waitUntil } from '../support/poll.js';

const missing = kamailioMissingReason() ?? sippMissingReason();
if (missing) console.warn(`faults-shutdown.test.ts skipped: ${missing}`);

/** Logged in the same tick as intake stops accepting: once it is in the output, a push is answered 4001. */
const DRAINING = 'stopping: intake closed, draining';

const papCode = (xml: string) => Number(/code="(\d+)"/.exec(xml)?.[1]);

async function post(url: string, request: { contentType: string; body: Buffer }) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': request.contentType },
    body: request.body,
    signal: AbortSignal.timeout(3000),
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

function stateOf(path: string, pushId: string): string | undefined {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('SELECT state FROM pushes WHERE push_id = ?').get(pushId) as { state: string } | undefined)?.state;
  } finally {
    db.close();
  }
}

describe.skipIf(missing !== undefined)('fault: graceful shutdown on SIGTERM', () => {
  useProcessCleanup('each');

  it('answers 4001 while draining, finishes the in-flight MESSAGE and exits 0 within the bound', async () => {
    const kamailio = await startKamailio();
    const silent = await runSipp({
      scenario: 'test/sipp/engine-uas-silent.xml',
      timeoutS: 40,
      extraArgs: ['-nr', '-default_behaviors', 'none'],
    });
    await silent.ready();
    await registerUser(kamailio, { user: 'drain-silent', contactPort: silent.port });
    const ppg = new PpgStandIn();
    await ppg.start();
    try {
      const plan = await planAgent(labProfile(kamailio), {
        policy: 'always-sip',
        sip: {
          listen: [{ host: '127.0.0.2', port: 0, transport: 'udp' }],
          timers: { t1Ms: 50, t2Ms: 400, t4Ms: 500 },
        },
        ppg: { handBackUrl: ppg.url('/handback'), backoff: { baseMs: 50, maxMs: 300 }, numberBearers: [] },
      });
      const agent = spawnAgent(plan);
      await agent.ready();
      const aor = `sip:drain-silent@${kamailio.host}`;
      const first = await post(agent.papUrl, papPush({ pushId: 'drain-1', address: userAddress(aor), content: Buffer.from('in flight') }));
      expect(papCode(first.text)).toBe(1001);
      // Wait until the MESSAGE is on the wire (the push is `delivering`).
      await waitUntil(() => stateOf(plan.storePath, 'drain-1') === 'delivering', 3000);
      expect(stateOf(plan.storePath, 'drain-1')).toBe('delivering');

      const signalledAt = Date.now();
      agent.signal('SIGTERM');
      await waitFor(() => agent.output().includes(DRAINING), 'the agent to log that it drains', 5000);
      const during = await post(agent.papUrl, papPush({ pushId: 'drain-2', address: userAddress(aor), content: Buffer.from('too late') }));
      expect(during.status).toBe(503);
      expect(papCode(during.text)).toBe(4001);
      expect(during.headers.get('retry-after')).toBe('1');

      const exit = await agent.exited;
      const tookMs = exit.atMs - signalledAt;
      console.log(
        `faults-shutdown: exit code ${exit.code} ${tookMs} ms after SIGTERM; in-flight push ${stateOf(plan.storePath, 'drain-1')}`,
      );
      expect(exit.code).toBe(0);
      expect(tookMs).toBeLessThan(9000);
      expect(['handing-back', 'handed-back']).toContain(stateOf(plan.storePath, 'drain-1'));
      expect(stateOf(plan.storePath, 'drain-2')).toBeUndefined();
      expect(agent.output()).toContain(DRAINING);
    } finally {
      await ppg.stop();
    }
  }, 60_000);

  it('exits at once (130) on a second signal during the drain', async () => {
    const kamailio = await startKamailio();
    const silent = await runSipp({
      scenario: 'test/sipp/engine-uas-silent.xml',
      timeoutS: 40,
      extraArgs: ['-nr', '-default_behaviors', 'none'],
    });
    await silent.ready();
    await registerUser(kamailio, { user: 'drain-twice', contactPort: silent.port });
    const plan = await planAgent(labProfile(kamailio), { policy: 'always-sip' });
    const agent = spawnAgent(plan);
    await agent.ready();
    const res = await post(
      agent.papUrl,
      papPush({ pushId: 'twice-1', address: userAddress(`sip:drain-twice@${kamailio.host}`), content: Buffer.from('x') }),
    );
    expect(papCode(res.text)).toBe(1001);
    await waitFor(() => stateOf(plan.storePath, 'twice-1') === 'delivering', 'the MESSAGE to be on the wire', 3000);
    agent.signal('SIGTERM');
    await waitFor(() => agent.output().includes(DRAINING), 'the agent to log that it drains', 5000);
    const secondAt = Date.now();
    agent.signal('SIGINT');
    const exit = await agent.exited;
    console.log(`faults-shutdown: second signal → exit ${exit.code} after ${exit.atMs - secondAt} ms`);
    expect(exit.code).toBe(130);
    expect(exit.atMs - secondAt).toBeLessThan(1500);
    // Killed mid-transaction: the push is still there, non-terminal, and resumes at the next start.
    expect(['accepted', 'delivering']).toContain(stateOf(plan.storePath, 'twice-1'));
  }, 60_000);
});

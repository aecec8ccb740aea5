/**
 * Fault: a second agent started by mistake, and a start that fails on a port in use. One writer per
 * store: the second process on the same SQLite file exits non-zero with one line naming the file, and the
 * first one's pushes are untouched. A start that fails (HTTP or SIP port taken) says which config field
 * and which `SPA__…` variable to change, and changes nothing in the store: HTTP and SIP are bound before
 * any stored push is resumed. Real agent processes (`node src/cli.ts start`).
 */
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { PushStore } from '../../src/push/store/sqlite/sqlite-push-store.js';
import { papPush, userAddress, labProfile } from '../support/agent-under-test.js';
import { planAgent, spawnAgent } from '../support/agent-process.js';
import { useProcessCleanup } from '../support/cleanup.js';
import { freePort } from '../support/ports.js';

const errorLines = (out: string) => out.split('\n').filter((line) => line.trim() !== '');

/** A store holding one push in `delivering` (as a crash mid-transaction leaves it) and one scheduled. */
function seedStore(path: string): void {
  const store = PushStore.open(path);
  for (const [pushId, deliverAfter] of [
    ['seed-wire', undefined],
    ['seed-later', Date.now() + 3_600_000],
  ] as const) {
    const request = papPush({
      pushId,
      address: userAddress('sip:seed@127.0.0.1'),
      content: Buffer.from(pushId),
      contentType: 'text/plain',
    });
    store.insert({
      pushId,
      address: userAddress('sip:seed@127.0.0.1'),
      aor: 'sip:seed@127.0.0.1',
      requestContentType: request.contentType,
      requestBody: request.body,
      deliverAfter,
    });
  }
  store.transition('seed-wire', 'delivering', {});
  store.close();
}

function snapshot(path: string): Array<{ id: string; state: string | undefined; history: number }> {
  const store = PushStore.open(path);
  try {
    return ['seed-wire', 'seed-later'].map((id) => ({ id, state: store.get(id)?.state, history: store.history(id).length }));
  } finally {
    store.close();
  }
}

describe('fault: one writer per store, a failed start changes nothing', () => {
  useProcessCleanup('each');
  const deadCore = async () => labProfile({ host: '127.0.0.1', port: await freePort('127.0.0.1') });

  it('a second agent on the same store exits non-zero with one line naming the file; the first keeps serving', async () => {
    const first = await planAgent(await deadCore(), { sip: { coreHealth: { intervalMs: 0 } } });
    seedStore(first.storePath);
    const a = spawnAgent(first);
    await a.ready();
    const before = snapshot(first.storePath);
    const second = { ...(await planAgent(first.profile, first.config)), storePath: first.storePath };
    const b = spawnAgent(second);
    const exit = await b.exited;
    const lines = errorLines(b.output());
    console.log(`faults-second-instance: second agent exit ${exit.code}; output: ${lines.join(' | ')}`);
    expect(exit.code).not.toBe(0);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^error \[STORE_LOCKED\]: /);
    expect(lines[0]).toContain(first.storePath);
    // The first agent still serves, and the second resumed nothing of its pushes.
    expect((await fetch(`${a.baseUrl}/healthz`)).status).toBe(200);
    expect(snapshot(first.storePath).find((s) => s.id === 'seed-later')).toEqual(before.find((s) => s.id === 'seed-later'));
    // Once the first has gone — even SIGKILLed: the OS drops the lock with the process — another may start.
    a.signal('SIGKILL');
    await a.exited;
    const c = spawnAgent(second);
    await c.ready(30_000);
    await c.stop();
  }, 120_000);

  it('HTTP port in use → one line naming http.port and SPA__http__port, exit non-zero, the store untouched', async () => {
    const plan = await planAgent(await deadCore(), { sip: { coreHealth: { intervalMs: 0 } } });
    seedStore(plan.storePath);
    const before = snapshot(plan.storePath);
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(plan.httpPort, '127.0.0.1', resolve));
    try {
      const agent = spawnAgent(plan);
      const exit = await agent.exited;
      const lines = errorLines(agent.output()).filter((line) => !line.startsWith('{')); // JSON log lines aside
      console.log(`faults-second-instance: HTTP port taken → exit ${exit.code}; ${lines.join(' | ')}`);
      expect(exit.code).not.toBe(0);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^error \[PORT_IN_USE\]: .*http\.port.*SPA__http__port/);
      expect(lines[0]).toContain(String(plan.httpPort));
      expect(snapshot(plan.storePath)).toEqual(before);
      expect(before.find((s) => s.id === 'seed-wire')?.state).toBe('delivering');
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  }, 60_000);

  it('SIP port in use → one line naming sip.listen[0].port and SPA__sip__listen__0__port, exit non-zero, the store untouched', async () => {
    const plan = await planAgent(await deadCore(), { sip: { coreHealth: { intervalMs: 0 } } });
    seedStore(plan.storePath);
    const before = snapshot(plan.storePath);
    const squatter = createSocket('udp4');
    await new Promise<void>((resolve) => squatter.bind(plan.sipPort, '127.0.0.2', resolve));
    try {
      const agent = spawnAgent(plan);
      const exit = await agent.exited;
      const lines = errorLines(agent.output()).filter((line) => !line.startsWith('{'));
      console.log(`faults-second-instance: SIP port taken → exit ${exit.code}; ${lines.join(' | ')}`);
      expect(exit.code).not.toBe(0);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^error \[PORT_IN_USE\]: 127\.0\.0\.2:\d+ .*sip\.listen\[0\]\.port.*SPA__sip__listen__0__port/);
      expect(snapshot(plan.storePath)).toEqual(before);
    } finally {
      squatter.close();
    }
  }, 60_000);
});

/**
 * Fault: the SIP core stops, or freezes (SIGSTOP) under load. The agent must know the core's health
 * (OPTIONS probes to the outbound proxy): while it is down `/readyz` says so and names it, new pushes
 * get a synchronous PAP 3010 "SIP core unreachable" with the hint and no SIP at all, and delivery
 * resumes as soon as the probes are answered again. No user is held down for the core's failure: only
 * answers about the user (404/410/480/604, or a timeout while the core is known alive) do that.
 */
import { describe, expect, it } from 'vitest';
import { signalGroup, useProcessCleanup } from '../support/cleanup.js';
import { kamailioMissingReason, startKamailio, type KamailioHandle } from '../support/kamailio.js';
import { letTimePass, waitUntil } from '../support/poll.js';
import { freePort } from '../support/ports.js';
import { sippMissingReason } from '../support/sipp.js';
import { registerUser, startMessageUas } from '../support/sip-users.js';
import { papPush, postPap, startAgentUnderTest, userAddress, type AgentUnderTest } from '../support/agent-under-test.js';

const missing = kamailioMissingReason() ?? sippMissingReason();
if (missing) console.warn(`faults-core-health.test.ts skipped: ${missing}`);

const T1 = 100; // Timer F = 6.4 s
const PROBES = { intervalMs: 250, timeoutMs: 400, failuresToDown: 2, successesToUp: 1 };
const TERMINAL = new Set(['delivered', 'handed-back', 'expired', 'cancelled']);

async function agentFor(k: KamailioHandle): Promise<AgentUnderTest> {
  const sipPort = await freePort('127.0.0.2');
  return startAgentUnderTest(k, {
    config: {
      sip: {
        listen: [
          { host: '127.0.0.2', port: sipPort, transport: 'udp' },
          { host: '127.0.0.2', port: sipPort, transport: 'tcp' },
        ],
        timers: { t1Ms: T1, t2Ms: 400, t4Ms: 500 },
        coreHealth: PROBES,
      },
    },
  });
}

async function readyz(sut: AgentUnderTest): Promise<{ status: number; body: { status?: string; checks?: Record<string, boolean> } }> {
  const base = sut.papUrl.replace(/\/pap$/, '');
  const res = await fetch(`${base}/readyz`);
  return { status: res.status, body: (await res.json()) as { status?: string; checks?: Record<string, boolean> } };
}

/** Polls /readyz until it answers `status`; resolves with the time it took (ms) or undefined on timeout. */
async function readyzBecomes(sut: AgentUnderTest, status: number, timeoutMs: number): Promise<number | undefined> {
  const t0 = Date.now();
  const became = await waitUntil(async () => (await readyz(sut)).status === status, timeoutMs, 25);
  return became ? Date.now() - t0 : undefined;
}

describe.skipIf(missing !== undefined)('fault: SIP core down or frozen', () => {
  useProcessCleanup('each');

  it('core stopped → /readyz not ready naming the core, sync 3010 "SIP core unreachable" with zero MESSAGE; back → delivered again', async () => {
    const k = await startKamailio();
    const uas = await startMessageUas({ timeoutS: 90 });
    await registerUser(k, { user: 'ch-alice', contactPort: uas.port });
    const sut = await agentFor(k);
    try {
      const aor = `sip:ch-alice@${k.host}`;
      expect(await readyzBecomes(sut, 200, 5000)).toBeDefined();
      await k.stop();
      const stoppedAt = Date.now();
      const downAfter = await readyzBecomes(sut, 503, 10_000);
      expect(downAfter).toBeDefined();
      const { body } = await readyz(sut);
      expect(body.status).toBe('not-ready');
      expect(body.checks).toMatchObject({ [`sipCore:udp:${k.host}:${k.port}`]: false, sipEngine: true, store: true, intake: true });
      const metrics = await (await fetch(sut.papUrl.replace(/\/pap$/, '/metrics'))).text();
      expect(metrics).toMatch(new RegExp(`spa_sip_core_up\\{core="udp:${k.host.replace(/\./g, '\\.')}:${k.port}",state="down"\\} 0`));

      const messagesBefore = sut.agent.engine.stats().requestsSent.MESSAGE ?? 0;
      const t0 = Date.now();
      const res = await postPap(sut.papUrl, papPush({ pushId: 'ch-down-1', address: userAddress(aor), content: Buffer.from('x') }));
      const answerMs = Date.now() - t0;
      expect(res.status).toBe(200);
      expect(res.text).toContain('code="3010"');
      expect(res.text).toContain('SIP core unreachable');
      expect(res.headers.get('x-push-bearer-hint')).toBe('SMS');
      expect(sut.agent.engine.stats().requestsSent.MESSAGE ?? 0).toBe(messagesBefore);
      expect(sut.agent.store.get('ch-down-1')).toBeUndefined();

      await k.restart();
      const backAt = Date.now();
      await registerUser(k, { user: 'ch-alice', contactPort: uas.port });
      const readyAfter = await readyzBecomes(sut, 200, 10_000);
      expect(readyAfter).toBeDefined();
      const after = await postPap(sut.papUrl, papPush({ pushId: 'ch-back-1', address: userAddress(aor), content: Buffer.from('y') }));
      expect(after.status).toBe(202);
      expect(await waitUntil(() => sut.agent.store.get('ch-back-1')?.state === 'delivered', 10_000)).toBe(true);
      const deliveredMs = (sut.agent.store.get('ch-back-1')?.updatedAt ?? Infinity) - backAt;
      console.log(
        `faults-core-health: core stopped → /readyz 503 after ${downAfter} ms (probe every ${PROBES.intervalMs} ms, ${PROBES.failuresToDown} failures); ` +
          `push answered 3010 in ${answerMs} ms with 0 MESSAGE; core back → ready ${readyAfter} ms, first push delivered ${deliveredMs} ms after the restart (${Date.now() - stoppedAt} ms in all)`,
      );
    } finally {
      await sut.stop();
    }
  }, 90_000);

  it('core frozen 10 s (SIGSTOP/SIGCONT) under bounded load: nobody held down afterwards; delivery resumes once probes answer', async () => {
    const k = await startKamailio();
    const uas = await startMessageUas({ timeoutS: 120 });
    const users = Array.from({ length: 5 }, (_, i) => `fz-user${i}`);
    for (const user of users) await registerUser(k, { user, contactPort: uas.port });
    const sut = await agentFor(k);
    const aors = users.map((u) => `sip:${u}@${k.host}`);
    let frozen = false;
    try {
      expect(await readyzBecomes(sut, 200, 5000)).toBeDefined();
      // Warm up: one delivered push per user (the first-NOTIFY wait is behind us).
      await Promise.all(
        aors.map((aor, i) =>
          postPap(sut.papUrl, papPush({ pushId: `fz-warm-${i}`, address: userAddress(aor), content: Buffer.from('w') })),
        ),
      );
      expect(await waitUntil(() => aors.every((_, i) => sut.agent.store.get(`fz-warm-${i}`)?.state === 'delivered'), 10_000)).toBe(true);

      // Bounded load: one push every 50 ms, round robin, at most 300: for 1 s before the freeze and its
      // first 2 s, then none until SIGCONT (so every MESSAGE sent into the freeze ends by Timer F, 6.4 s,
      // before the core wakes up and no late 200 can tidy up after it), then again for 4 s.
      const sent: Array<{ pushId: string; at: number; status?: number; code?: string }> = [];
      const inFlight: Promise<void>[] = [];
      let i = 0;
      const loadFor = async (ms: number) => {
        for (const end = Date.now() + ms; i < 300 && Date.now() < end; i++) {
          const entry: (typeof sent)[number] = { pushId: `fz-${i}`, at: Date.now() };
          sent.push(entry);
          inFlight.push(
            postPap(
              sut.papUrl,
              papPush({ pushId: entry.pushId, address: userAddress(aors[i % aors.length] as string), content: Buffer.from(entry.pushId) }),
            ).then((r) => {
              entry.status = r.status;
              entry.code = /code="(\d+)"/.exec(r.text)?.[1];
            }),
          );
          await letTimePass(50); // the pace of the load (20 pushes/s) is part of the scenario
        }
      };
      const FREEZE_MS = 10_000;
      await loadFor(1000);
      signalGroup(k.pid, 'SIGSTOP');
      frozen = true;
      const stoppedAt = Date.now();
      await loadFor(2000);
      await letTimePass(stoppedAt + FREEZE_MS - Date.now()); // the freeze lasts FREEZE_MS: the fault under test
      signalGroup(k.pid, 'SIGCONT');
      frozen = false;
      const contAt = Date.now();
      const [readyAfter] = await Promise.all([readyzBecomes(sut, 200, 10_000), loadFor(4000)]);
      await Promise.all(inFlight);
      const accepted = sent.filter((s) => s.code === '1001');
      const settled = await waitUntil(() => accepted.every((s) => TERMINAL.has(sut.agent.store.get(s.pushId)?.state ?? '')), 20_000);

      const syncDiverted = sent.filter((s) => s.code === '3010').length;
      const asyncDiverted = accepted.filter((s) => sut.agent.store.get(s.pushId)?.state === 'handed-back').length;
      const afterCont = accepted.filter((s) => s.at >= contAt);
      const firstDelivered = Math.min(
        ...afterCont
          .map((s) => sut.agent.store.get(s.pushId))
          .filter((r) => r?.state === 'delivered')
          .map((r) => (r?.updatedAt ?? Infinity) - contAt),
      );
      const duringFreeze = sent.filter((s) => s.at >= stoppedAt && s.at < contAt);
      const held = aors.filter((aor) => sut.agent.table.decide(aor).rule === 'hold-down');
      console.log(
        `faults-core-health: frozen ${contAt - stoppedAt} ms with ${sent.length} pushes ` +
          `(${duringFreeze.length} during the freeze): ${accepted.length} × 1001, ${syncDiverted} × sync 3010 (${duringFreeze.filter((s) => s.code === '3010').length} of them during the freeze), ` +
          `${asyncDiverted} handed back after acceptance; /readyz ready ${readyAfter} ms after SIGCONT; first push posted after SIGCONT delivered ${firstDelivered} ms after SIGCONT; ` +
          `users held down afterwards: ${held.length}`,
      );
      for (const aor of held)
        console.log(`faults-core-health: ${aor} held down by ${JSON.stringify(sut.agent.table.entry(aor)?.sources.delivery)}`);
      expect(settled).toBe(true);
      expect(held).toEqual([]);
      expect(readyAfter).toBeDefined();
      expect(afterCont.length).toBeGreaterThan(0);
      expect(firstDelivered).toBeLessThan(5000);
      // Once the probes found the core down, pushes were answered at once with 3010 instead of being accepted into Timer F.
      expect(duringFreeze.filter((s) => s.code === '3010').length).toBeGreaterThan(0);
      // And every user gets SIP again right away.
      for (const [i, aor] of aors.entries()) {
        const res = await postPap(sut.papUrl, papPush({ pushId: `fz-after-${i}`, address: userAddress(aor), content: Buffer.from('a') }));
        expect(res.status).toBe(202);
      }
      expect(await waitUntil(() => aors.every((_, i) => sut.agent.store.get(`fz-after-${i}`)?.state === 'delivered'), 10_000)).toBe(true);
    } finally {
      if (frozen) signalGroup(k.pid, 'SIGCONT');
      await sut.stop();
    }
  }, 120_000);
});

/**
 * Overload: past the bounds (`limits.maxInFlight` SIP transactions + `limits.maxQueued`
 * waiting pushes) intake answers PAP 4001 at once (HTTP 503, Retry-After) instead of queueing without
 * end, and accepts again as soon as the transactions finish. The SIP core is a closed port, so every
 * MESSAGE holds its slot for Timer F (64·T1 = 3.2 s with T1 = 50 ms).
 */
import { describe, expect, it } from 'vitest';
import { freePort } from '../support/ports.js';
import { papPush, postPap, startAgentUnderTest, userAddress } from '../support/agent-under-test.js';

const MAX_IN_FLIGHT = 2;
const MAX_QUEUED = 3;

describe('overload: bounded queue', () => {
  it('answers 4001 at once past maxInFlight + maxQueued and recovers when the transactions end', async () => {
    const core = { host: '127.0.0.1', port: await freePort('127.0.0.1') };
    const sipPort = await freePort('127.0.0.2');
    const sut = await startAgentUnderTest(core, {
      config: {
        policy: 'always-sip',
        sip: { listen: [{ host: '127.0.0.2', port: sipPort, transport: 'udp' }], timers: { t1Ms: 50, t2Ms: 400, t4Ms: 500 } },
        limits: { maxInFlight: MAX_IN_FLIGHT, maxQueued: MAX_QUEUED },
      },
    });
    try {
      const burst = 40;
      const results = await Promise.all(
        Array.from({ length: burst }, async (_, i) => {
          const t0 = Date.now();
          const res = await postPap(sut.papUrl, papPush({ pushId: `ov-${i}`, address: userAddress(`sip:ov${i}@${core.host}`), content: Buffer.from('x') }));
          return { i, status: res.status, text: res.text, retryAfter: res.headers.get('retry-after'), ms: Date.now() - t0 };
        }),
      );
      const accepted = results.filter((r) => r.status === 202);
      const shed = results.filter((r) => r.status === 503);
      expect(accepted).toHaveLength(MAX_IN_FLIGHT + MAX_QUEUED);
      expect(shed).toHaveLength(burst - MAX_IN_FLIGHT - MAX_QUEUED);
      for (const r of shed) {
        expect(r.text).toContain('code="4001"');
        expect(r.retryAfter).toBe('1');
        expect(sut.agent.store.get(`ov-${r.i}`)).toBeUndefined(); // nothing half-accepted
      }
      const worstShedMs = Math.max(...shed.map((r) => r.ms));
      expect(sut.agent.pushes.queueDepth).toEqual({ inFlight: MAX_IN_FLIGHT, queued: MAX_QUEUED });
      expect(sut.agent.pushes.counters.overloaded).toBe(shed.length);

      // Still full: another push is shed at once.
      const t0 = Date.now();
      const more = await postPap(sut.papUrl, papPush({ pushId: 'ov-more', address: userAddress(`sip:more@${core.host}`), content: Buffer.from('x') }));
      expect(more.status).toBe(503);
      // "At once": no queueing behind the full slots, far below Timer F (64·T1 = 3.2 s here); the margin is
      // for a shared 2-core machine where one scheduling hiccup alone can take a few hundred milliseconds.
      expect(Date.now() - t0).toBeLessThan(1_000);

      // Recovery: the first two time out (Timer F), their slots go to the queued ones, room again.
      const deadline = Date.now() + 10_000;
      let again = more;
      let attempt = 0;
      while (again.status !== 202 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200));
        again = await postPap(sut.papUrl, papPush({ pushId: `ov-again-${attempt++}`, address: userAddress(`sip:again@${core.host}`), content: Buffer.from('x') }));
      }
      expect(again.status).toBe(202);
      console.log(`faults-overload: burst ${burst} → ${accepted.length} accepted, ${shed.length} shed with 4001 (worst ${worstShedMs} ms); accepting again after ${attempt} retries`);
      // Every accepted push still ends (handed back after its timeout).
      const ends = Date.now() + 20_000;
      const ids = accepted.map((r) => `ov-${r.i}`);
      while (!ids.every((id) => sut.agent.store.get(id)?.state === 'handed-back') && Date.now() < ends) await new Promise((r) => setTimeout(r, 100));
      expect(ids.map((id) => sut.agent.store.get(id)?.state)).toEqual(ids.map(() => 'handed-back'));
    } finally {
      await sut.stop();
    }
  }, 40_000);
});

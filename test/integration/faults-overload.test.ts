/**
 * Overload: past the bounds (`limits.maxInFlight` SIP transactions + `limits.maxQueued`
 * waiting pushes) intake answers PAP 4001 at once (HTTP 503, Retry-After) instead of queueing without
 * end, and accepts again as soon as the transactions finish.
 *
 * The SIP core is a UDP socket that holds every MESSAGE unanswered until the test releases it, with the
 * default T1 (Timer F = 32 s): the slots stay full however slowly the burst arrives. (With a closed port
 * and T1 = 50 ms, Timer F was 3.2 s; on a loaded 2-core machine the 40 POSTs took longer than two Timer
 * F rounds to arrive, slots freed mid-burst and 9 were accepted instead of 5.) Released, it answers 480,
 * so the slots free at once and each push is handed back.
 */
import { createSocket, type RemoteInfo } from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { waitFor, waitUntil } from '../support/poll.js';
import { freePort } from '../support/ports.js';
import { papPush, postPap, startAgentUnderTest, userAddress } from '../support/agent-under-test.js';

const MAX_IN_FLIGHT = 2;
const MAX_QUEUED = 3;

/** The headers a UAS copies into its response (RFC 3261 §8.2.6.2). */
const COPIED = /^(via|v|from|f|to|t|call-id|i|cseq):/i;

/** A SIP core on 127.0.0.1 that answers OPTIONS 200 and holds every other request until {@link release}. */
async function holdingCore() {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const held = new Map<string, { text: string; from: RemoteInfo }>(); // by Call-ID: retransmissions once
  let releasedWith: number | undefined;
  const answer = (text: string, from: RemoteInfo, status: number, reason: string) => {
    const head = text.split('\r\n\r\n')[0]!.split('\r\n').slice(1);
    const copied = head.filter((h) => COPIED.test(h)).map((h) => (/^(to|t):/i.test(h) && !/;tag=/i.test(h) ? `${h};tag=held` : h));
    socket.send(Buffer.from([`SIP/2.0 ${status} ${reason}`, ...copied, 'Content-Length: 0', '', ''].join('\r\n')), from.port, from.address);
  };
  socket.on('message', (buf, from) => {
    const text = buf.toString('utf8');
    if (text.startsWith('OPTIONS ')) return answer(text, from, 200, 'OK');
    if (!text.startsWith('MESSAGE ')) return;
    const callId = /^(call-id|i):\s*(.+)$/im.exec(text)?.[2]?.trim() ?? text;
    if (!held.has(callId)) held.set(callId, { text, from });
    if (releasedWith !== undefined) answer(text, from, releasedWith, 'Temporarily Unavailable');
  });
  return {
    host: '127.0.0.1',
    port: socket.address().port,
    /** Distinct MESSAGEs received so far. */
    messages: () => held.size,
    /** Answers everything held, and everything from now on, with `status`. */
    release(status = 480) {
      releasedWith = status;
      for (const { text, from } of held.values()) answer(text, from, status, 'Temporarily Unavailable');
    },
    close: () => socket.close(),
  };
}

describe('overload: bounded queue', () => {
  it('answers 4001 at once past maxInFlight + maxQueued and recovers when the transactions end', async () => {
    const core = await holdingCore();
    const sipPort = await freePort('127.0.0.2');
    const sut = await startAgentUnderTest(core, {
      config: {
        policy: 'always-sip',
        sip: { listen: [{ host: '127.0.0.2', port: sipPort, transport: 'udp' }], timers: { t1Ms: 500, t2Ms: 4000, t4Ms: 5000 } },
        limits: { maxInFlight: MAX_IN_FLIGHT, maxQueued: MAX_QUEUED },
      },
    });
    try {
      const burst = 40;
      const results = await Promise.all(
        Array.from({ length: burst }, async (_, i) => {
          const t0 = Date.now();
          const res = await postPap(
            sut.papUrl,
            papPush({ pushId: `ov-${i}`, address: userAddress(`sip:ov${i}@${core.host}`), content: Buffer.from('x') }),
          );
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
      await waitFor(() => core.messages() === MAX_IN_FLIGHT, `${MAX_IN_FLIGHT} MESSAGEs at the core`);
      expect(sut.agent.pushes.queueDepth).toEqual({ inFlight: MAX_IN_FLIGHT, queued: MAX_QUEUED });
      expect(sut.agent.pushes.counters.overloaded).toBe(shed.length);

      // Still full: another push is shed at once.
      const t0 = Date.now();
      const more = await postPap(
        sut.papUrl,
        papPush({ pushId: 'ov-more', address: userAddress(`sip:more@${core.host}`), content: Buffer.from('x') }),
      );
      expect(more.status).toBe(503);
      // "At once": no queueing behind the full slots, far below Timer F (64·T1 = 32 s here); the margin is
      // for a shared 2-core machine where one scheduling hiccup alone can take a few hundred milliseconds.
      expect(Date.now() - t0).toBeLessThan(1_000);
      expect(core.messages()).toBe(MAX_IN_FLIGHT); // nothing past the in-flight bound reached the wire

      // Recovery: the core answers 480, the slots go to the queued ones and free again: room once more.
      core.release(480);
      await waitFor(() => sut.agent.pushes.queueDepth.queued < MAX_QUEUED, 'a queue slot after the core answered', 20_000);
      const again = await postPap(
        sut.papUrl,
        papPush({ pushId: 'ov-again', address: userAddress(`sip:again@${core.host}`), content: Buffer.from('x') }),
      );
      expect(again.status).toBe(202);
      console.log(`faults-overload: burst ${burst} → ${accepted.length} accepted, ${shed.length} shed with 4001 (worst ${worstShedMs} ms)`);
      // Every accepted push still ends: one MESSAGE each, answered 480, handed back.
      const ids = [...accepted.map((r) => `ov-${r.i}`), 'ov-again'];
      await waitUntil(() => ids.every((id) => sut.agent.store.get(id)?.state === 'handed-back'), 30_000);
      expect(ids.map((id) => sut.agent.store.get(id)?.state)).toEqual(ids.map(() => 'handed-back'));
      expect(core.messages()).toBe(ids.length);
    } finally {
      await sut.stop();
      core.close();
    }
  }, 90_000);
});

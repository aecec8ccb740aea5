/**
 * Fault: the PPG's hand-back and notify endpoint is down for a while. First it answers
 * 503, then it is not listening at all (connection refused), then it comes back. Every hand-back and
 * every result notification is retried with exponential backoff and arrives once the PPG is back;
 * nothing is lost.
 */
import { createServer, type Server } from 'node:http';
import { describe, expect, it } from 'vitest';
import { useProcessCleanup } from '../support/cleanup.js';
import { kamailioMissingReason, startKamailio } from '../support/kamailio.js';
import { sippMissingReason } from '../support/sipp.js';
import { registerUser, startMessageUas } from '../support/sip-users.js';
import { papPush, postPap, startAgentUnderTest, userAddress } from '../support/agent-under-test.js';
import { acceptingAnswer } from '../support/pap-ppg.js';
import { letTimePass, waitUntil } from '../support/poll.js';

const missing = kamailioMissingReason() ?? sippMissingReason();
if (missing) console.warn(`faults-ppg-down.test.ts skipped: ${missing}`);

interface Attempt {
  path: string;
  pushId: string;
  at: number;
  status: number;
}

/** A PPG that is `503`, `closed` (not listening) or `up`, and records every attempt it saw. */
class FlakyPpg {
  readonly attempts: Attempt[] = [];
  mode: 'failing' | 'up' = 'failing';
  port = 0;
  private server?: Server;

  async listen(port = 0): Promise<void> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const pushId = /push-id="([^"]+)"/.exec(body.toString('latin1'))?.[1] ?? '';
        const status = this.mode === 'up' ? 200 : 503;
        this.attempts.push({ path: req.url ?? '', pushId, at: Date.now(), status });
        res
          .writeHead(status === 200 ? 202 : status, { 'content-type': 'application/xml' })
          .end(status === 200 ? acceptingAnswer(body) : '');
      });
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    const address = server.address();
    this.port = typeof address === 'object' && address ? address.port : port;
    this.server = server;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  acknowledged(path: string): Set<string> {
    return new Set(this.attempts.filter((a) => a.path === path && a.status === 200).map((a) => a.pushId));
  }
}

describe.skipIf(missing !== undefined)('fault: PPG hand-back/notify endpoint down', () => {
  useProcessCleanup('each');

  it('retries hand-backs and notifications with backoff while the PPG is down; all arrive once it is back', async () => {
    const kamailio = await startKamailio();
    const uas = await startMessageUas({ answer: 480, timeoutS: 60 });
    await registerUser(kamailio, { user: 'ppgdown', contactPort: uas.port });
    const ppg = new FlakyPpg();
    await ppg.listen();
    const sut = await startAgentUnderTest(kamailio, {
      config: {
        policy: 'always-sip',
        ppg: { handBackUrl: ppg.url('/handback'), requestTimeoutMs: 1000, backoff: { baseMs: 100, maxMs: 800 }, numberBearers: [] },
      },
    });
    try {
      const N = 10;
      const aor = `sip:ppgdown@${kamailio.host}`;
      for (let i = 0; i < N; i += 1) {
        const res = await postPap(
          sut.papUrl,
          papPush({ pushId: `ppg-${i}`, address: userAddress(aor), content: Buffer.from(`c${i}`), notifyTo: ppg.url('/notify') }),
        );
        expect(res.status).toBe(202);
      }
      // Phase 1: 503 for 1.5 s. Phase 2: not listening for 1.5 s. Then up on the same port.
      await letTimePass(1500); // the 503 phase lasts 1.5 s: the fault under test
      const port = ppg.port;
      await ppg.close();
      await letTimePass(1500); // the PPG is away for 1.5 s: the fault under test
      for (let i = 0; i < N; i += 1) expect(sut.agent.store.get(`ppg-${i}`)?.state).toBe('handing-back');
      ppg.mode = 'up';
      const backAt = Date.now();
      await ppg.listen(port);

      await waitUntil(() => ppg.acknowledged('/handback').size >= N && ppg.acknowledged('/notify').size >= N, 10_000, 50);
      const recoveredMs = Date.now() - backAt;
      expect(ppg.acknowledged('/handback').size).toBe(N);
      expect(ppg.acknowledged('/notify').size).toBe(N);
      for (let i = 0; i < N; i += 1) expect(sut.agent.store.get(`ppg-${i}`)?.state).toBe('handed-back');

      // Backoff: the refused attempts of one push are spaced ever wider (base 100 ms, ×2, jitter 20 %).
      const refused = ppg.attempts.filter((a) => a.pushId === 'ppg-0' && a.path === '/handback' && a.status === 503).map((a) => a.at);
      const gaps = refused.slice(1).map((t, i) => t - refused[i]!);
      console.log(
        `faults-ppg-down: ${ppg.attempts.filter((a) => a.status === 503).length} refused attempts; ppg-0 gaps ${gaps.join(',')} ms; all ${N} hand-backs + ${N} notifications acknowledged ${recoveredMs} ms after the PPG came back`,
      );
      expect(refused.length).toBeGreaterThanOrEqual(3);
      // Widening, judged over the whole run: one gap can be stretched by a busy event loop.
      expect(Math.max(...gaps.slice(1))).toBeGreaterThan(gaps[0]!);
      expect(Math.max(...gaps)).toBeLessThan(800 + 1200); // capped at maxMs (+ poll slack)
      expect(recoveredMs).toBeLessThan(800 + 2500);
    } finally {
      await sut.stop();
      await ppg.close();
    }
  }, 60_000);
});

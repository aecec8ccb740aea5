/**
 * Fault: the disk under the push store fills up while MESSAGEs are on the wire (a 3 MB tmpfs, real
 * Kamailio, a SIPp handset that answers after 2 s, the agent as its own OS process).
 *
 * The outcome writes (`delivered` + the PI's result notification) fail with SQLITE_FULL. They must be
 * retried until they commit: no push whose MESSAGE got its 200 may stay `delivering` (a restart would
 * send it again). Meanwhile `/readyz` says the store cannot write and intake answers PAP 4001; when
 * space returns everything recovers without a restart.
 *
 * Needs root for `mount -t tmpfs`; without it the test prints why and skips.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, openSync, rmSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { planAgent, spawnAgent } from '../support/agent-process.js';
import { labProfile, papPush, PpgStandIn, userAddress } from '../support/agent-under-test.js';
import { useProcessCleanup } from '../support/cleanup.js';
import { kamailioMissingReason, startKamailio } from '../support/kamailio.js';
import { eventually, waitFor } from '../support/poll.js';
import { makeTempDir } from '../support/repo-paths.js';
import { registerUser } from '../support/sip-users.js';
import { runSipp, sippMissingReason } from '../support/sipp.js';

/** Starting the agent process (tsx) takes seconds; on a loaded shared machine, tens of seconds. */
const READY_MS = 60_000;

const mountDir = join(makeTempDir('spa-diskfull-'), 'mnt');
function tryMount(): string | undefined {
  mkdirSync(mountDir, { recursive: true });
  const run = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', mountDir], { encoding: 'utf8' });
  if (run.error) return `mount: ${run.error.message}`;
  if (run.status !== 0) return `mount -t tmpfs failed: ${(run.stderr || '').trim() || `exit ${run.status}`}`;
  // Unmounted in afterAll; this also covers a run where the filter skipped every test.
  process.once('exit', () => spawnSync('umount', [mountDir]));
  return undefined;
}

const missing = kamailioMissingReason() ?? sippMissingReason() ?? tryMount();
if (missing) console.warn(`faults-disk-full.test.ts skipped: ${missing}`);

/** Writes zeros into `path` until the file system says ENOSPC. */
function fillDisk(path: string): number {
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(64 * 1024);
  let written = 0;
  try {
    for (;;) written += writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    closeSync(fd);
  }
  return written;
}

/** Stored pushes by state, read through the agent's own connection (`spa_store_pushes`). */
async function storeCounts(baseUrl: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${baseUrl}/metrics`, { signal: AbortSignal.timeout(3000) })).text();
  return Object.fromEntries([...text.matchAll(/^spa_store_pushes\{state="([^"]+)"\} (\d+)/gm)].map((m) => [m[1], Number(m[2])]));
}

async function readyz(baseUrl: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`${baseUrl}/readyz`, { signal: AbortSignal.timeout(3000) });
  return { status: res.status, body: await res.text() };
}

describe.skipIf(missing !== undefined)('fault: disk full under the push store', () => {
  useProcessCleanup('each');
  afterAll(() => {
    spawnSync('umount', [mountDir]);
  });

  it('outcomes of MESSAGEs answered 200 are kept and written once space returns; readiness and intake follow the store', async () => {
    const kamailio = await startKamailio();
    const uas = await runSipp({ scenario: 'test/sipp/uas-message-late.xml', timeoutS: 90, extraArgs: ['-deadcall_wait', '0'] });
    await uas.ready(READY_MS);
    await registerUser(kamailio, { user: 'disk-late', contactPort: uas.port });
    const ppg = new PpgStandIn();
    await ppg.start();
    const filler = join(mountDir, 'filler');
    try {
      const plan = await planAgent(labProfile(kamailio), {
        policy: 'always-sip',
        ppg: { handBackUrl: ppg.url('/handback'), backoff: { baseMs: 50, maxMs: 300 } },
        store: { path: join(mountDir, 'pushes.sqlite') },
      });
      const agent = spawnAgent(plan);
      await agent.ready(READY_MS);
      expect((await readyz(agent.baseUrl)).status).toBe(200);

      const N = 20;
      for (let i = 0; i < N; i += 1) {
        const res = await fetch(agent.papUrl, {
          method: 'POST',
          ...(() => {
            const p = papPush({
              pushId: `full-${i}`,
              address: userAddress(`sip:disk-late@${kamailio.host}`),
              content: Buffer.from(`push ${i}`),
              contentType: 'text/plain',
              notifyTo: ppg.url('/notify'),
            });
            return { headers: { 'content-type': p.contentType }, body: p.body };
          })(),
        });
        expect(await res.text()).toContain('code="1001"');
      }
      // Every MESSAGE is at the handset (which answers in 2 s): now the disk fills up.
      await waitFor(
        () => uas.messages().filter((m) => m.direction === 'received' && m.method === 'MESSAGE').length >= N,
        'MESSAGEs at the handset',
        10_000,
      );
      const filled = fillDisk(filler);
      await waitFor(
        () =>
          new Set(
            uas
              .messages()
              .filter((m) => m.direction === 'sent' && m.status === 200)
              .map((m) => m.text.match(/Call-ID:\s*(\S+)/i)?.[1]),
          ).size >= N,
        'the handset answered 200 to all',
        10_000,
      );

      // The outcome writes fail: readiness says so and intake answers 4001.
      const ready = await eventually(
        () => readyz(agent.baseUrl),
        (r) => r.status !== 200,
        10_000,
        100,
      );
      expect(ready.status).toBe(503);
      expect(ready.body).toContain('storeWritable');
      const refused = papPush({
        pushId: 'full-refused',
        address: userAddress(`sip:disk-late@${kamailio.host}`),
        content: Buffer.from('x'),
        contentType: 'text/plain',
      });
      const refusedText = await (
        await fetch(agent.papUrl, { method: 'POST', headers: { 'content-type': refused.contentType }, body: refused.body })
      ).text();
      expect(refusedText).toMatch(/code="400[01]"/);
      // Read through the agent (a second reader cannot open the WAL on a full disk).
      const stillDelivering = (await storeCounts(agent.baseUrl)).delivering ?? 0;
      console.log(
        `faults-disk-full: filled ${filled} bytes; ${stillDelivering} of ${N} answered 200 but not yet recorded; /readyz ${ready.status}`,
      );
      expect(stillDelivering).toBeGreaterThan(0);

      // Space returns: everything is written without a restart, readiness comes back.
      const freedAt = Date.now();
      rmSync(filler);
      const counts = await eventually(
        () => storeCounts(agent.baseUrl),
        (c) => (c.delivered ?? 0) >= N,
        15_000,
        100,
      );
      expect(counts).toMatchObject({ delivered: N, delivering: 0, accepted: 0 });
      const recordedMs = Date.now() - freedAt;
      await waitFor(() => ppg.posts.filter((p) => p.path === '/notify').length >= N, 'result notifications', 15_000);
      const back = await eventually(
        () => readyz(agent.baseUrl),
        (r) => r.status === 200,
        10_000,
        100,
      );
      expect(back.status).toBe(200);
      console.log(
        `faults-disk-full: all ${N} outcomes recorded ${recordedMs} ms after space returned; ready again ${Date.now() - freedAt} ms after`,
      );
      const after = papPush({
        pushId: 'full-after',
        address: userAddress(`sip:disk-late@${kamailio.host}`),
        content: Buffer.from('y'),
        contentType: 'text/plain',
      });
      expect(
        await (await fetch(agent.papUrl, { method: 'POST', headers: { 'content-type': after.contentType }, body: after.body })).text(),
      ).toContain('code="1001"');
      // Nothing was sent twice: one request (one core transaction, one Via branch) per push at the handset.
      const branches = new Set(
        uas
          .messages()
          .filter((m) => m.direction === 'received' && m.method === 'MESSAGE' && m.body.startsWith('push '))
          .map((m) => /;branch=([^;,\s]+)/.exec(m.text)?.[1]),
      );
      expect(branches.size).toBe(N);
      await agent.stop();
    } finally {
      rmSync(filler, { force: true });
      await ppg.stop();
    }
  }, 180_000);
});

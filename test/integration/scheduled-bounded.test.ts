/**
 * Scheduled pushes are bounded (agent as its own OS process, no SIP needed: deliver-after is a year
 * ahead). 5000 pushes with 8 KB bodies are accepted; their bodies stay on disk, so heap + external
 * memory grow by far less than the 40 MB of bodies; the 5001st is refused with PAP 4001 naming
 * `limits.maxScheduled`; a restart schedules them from ids and due times and is listening quickly.
 */
import { describe, expect, it } from 'vitest';
import { planAgent, spawnAgent } from '../support/agent-process.js';
import { labProfile, papPush, userAddress } from '../support/agent-under-test.js';
import { useProcessCleanup } from '../support/cleanup.js';
import { eventually } from '../support/poll.js';

/** Starting the agent process (tsx) takes seconds; on a loaded shared machine, tens of seconds. */
const READY_MS = 60_000;

const N = 5000;
const BODY = 8 * 1024;
/** Allowed growth of heap used + external memory for N scheduled pushes (their bodies alone: 40 MB). */
const CEILING_BYTES = 16 * 1024 * 1024;

async function metric(baseUrl: string, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `) || (labels === '' && l.startsWith(`${name} `)));
  return Number(line?.split(' ')[1] ?? NaN);
}

async function memory(baseUrl: string): Promise<number> {
  return (await metric(baseUrl, 'spa_nodejs_heap_size_used_bytes')) + (await metric(baseUrl, 'spa_nodejs_external_memory_bytes'));
}

/** Polls memory until it is under `limit` (V8 collects garbage when allocation goes quiet) or time is up. */
async function settledMemory(baseUrl: string, limit: number, timeoutMs: number): Promise<number> {
  return eventually(
    () => memory(baseUrl),
    (value) => value < limit,
    timeoutMs,
    250,
  );
}

describe('scheduled pushes are bounded', () => {
  useProcessCleanup('each');

  it(`${N} pushes a year ahead: bodies on disk, memory bounded, limit → 4001, restart listening quickly`, async () => {
    const plan = await planAgent(labProfile({ host: '127.0.0.1', port: 9 }), {
      policy: 'always-sip',
      limits: { maxScheduled: N },
      store: { synchronous: 'NORMAL' },
      // No core listens at port 9: with OPTIONS probes the core would be declared down after two probes
      // and every later push answered 3010 "SIP core unreachable". This test is about the scheduler.
      sip: { coreHealth: { intervalMs: 0 } },
    });
    const first = spawnAgent(plan);
    const startAt = Date.now();
    await first.ready(READY_MS);
    const firstReadyMs = Date.now() - startAt;
    const baseline = await settledMemory(first.baseUrl, 0, 0);
    const later = new Date(Date.now() + 365 * 24 * 3600_000).toISOString().replace(/\.\d+Z$/, 'Z');
    const body = Buffer.alloc(BODY, 'a');
    let next = 0;
    let accepted = 0;
    const started = Date.now();
    const worker = async () => {
      while (next < N && Date.now() - started < 120_000) {
        const i = next++;
        const p = papPush({
          pushId: `sched-${i}`,
          address: userAddress('sip:sched@127.0.0.1'),
          content: body,
          contentType: 'text/plain',
          deliverAfter: later,
        });
        const res = await fetch(first.papUrl, {
          method: 'POST',
          headers: { 'content-type': p.contentType },
          body: p.body,
          signal: AbortSignal.timeout(10_000),
        });
        if ((await res.text()).includes('code="1001"')) accepted += 1;
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    expect(accepted).toBe(N);
    expect(await metric(first.baseUrl, 'spa_push_queue', '{kind="scheduled"}')).toBe(N);

    const over = papPush({
      pushId: 'sched-over',
      address: userAddress('sip:sched@127.0.0.1'),
      content: body,
      contentType: 'text/plain',
      deliverAfter: later,
    });
    const overText = await (
      await fetch(first.papUrl, { method: 'POST', headers: { 'content-type': over.contentType }, body: over.body })
    ).text();
    expect(overText).toContain('code="4001"');
    expect(overText).toContain('limits.maxScheduled');

    const grown = (await settledMemory(first.baseUrl, baseline + CEILING_BYTES, 30_000)) - baseline;
    console.log(
      `scheduled-bounded: ${N} × ${BODY} B accepted in ${Date.now() - started} ms; heap used + external grew ${(grown / 1048576).toFixed(1)} MB (bodies: ${((N * BODY) / 1048576).toFixed(0)} MB)`,
    );
    expect(grown).toBeLessThan(CEILING_BYTES);

    await first.stop();
    const second = spawnAgent(plan);
    const restartAt = Date.now();
    await second.ready(READY_MS);
    const readyMs = Date.now() - restartAt;
    expect(await metric(second.baseUrl, 'spa_push_queue', '{kind="scheduled"}')).toBe(N);
    const afterRestart = await settledMemory(second.baseUrl, baseline + CEILING_BYTES, 30_000);
    console.log(
      `scheduled-bounded: restart with ${N} scheduled listening after ${readyMs} ms (empty store: ${firstReadyMs} ms, process start included); heap used + external ${(afterRestart / 1048576).toFixed(1)} MB`,
    );
    // Process start (tsx) dominates and varies with load; the restart may cost a few seconds more than
    // the first start (5000 ids and due times), not the time to load and parse 40 MB of bodies.
    expect(readyMs).toBeLessThan(firstReadyMs + 10_000);
    expect(afterRestart - baseline).toBeLessThan(CEILING_BYTES);
    await second.stop();
  }, 240_000);
});

/**
 * The PAP load generator: POSTs PAP 2.0 push-messages (multipart/related, built like a PI does) over
 * keep-alive HTTP at a fixed rate, bounded in count and in time, and records per push the PAP response
 * time and code. Terminal times of accepted pushes come from the PPG sink (result notification or
 * hand-back POST).
 */
import { Agent, request } from 'node:http';
import { papPush, userAddress } from '../../test/support/agent-under-test.js';
import type { PpgSink } from './ppg-sink.js';

export interface PushSample {
  pushId: string;
  aor: string;
  sentMs: number;
  /** PAP response received (ms since sentMs); undefined when the request failed. */
  papMs?: number;
  papCode?: number;
  /** When the request got its connection (ms since sentMs): the wait in the generator's own queue. */
  socketMs?: number;
  hint?: string;
  error?: string;
}

export interface StepOptions {
  url: string;
  rate: number;
  durationS: number;
  /** Push i goes to aors[i % aors.length]. */
  aors: string[];
  idPrefix: string;
  notifyTo?: string;
  /** Open requests at most (the rest wait in the generator and the wait counts as latency). */
  maxOpen?: number;
  /** How long after the last send answers are awaited (default 30 s). */
  drainS?: number;
}

const CONTENT = Buffer.from('<?xml version="1.0"?><si><indication href="http://example.com/">bench</indication></si>');

function post(
  url: URL,
  agent: Agent,
  contentType: string,
  body: Buffer,
  onSocket: () => void,
): Promise<{ status: number; text: string; hint?: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: 'POST', agent, headers: { 'content-type': contentType, 'content-length': body.length }, timeout: 30_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const hint = res.headers['x-push-bearer-hint'];
          resolve({
            status: res.statusCode ?? 0,
            text: Buffer.concat(chunks).toString('utf8'),
            hint: typeof hint === 'string' ? hint : undefined,
          });
        });
        res.on('error', reject);
      },
    );
    req.once('socket', onSocket);
    req.on('timeout', () => req.destroy(new Error('PAP request timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

/** Sends `rate × durationS` pushes at `rate`/s (never more, never after the step's time + drainS). */
export async function runPapStep(o: StepOptions): Promise<PushSample[]> {
  const url = new URL(o.url);
  const maxOpen = o.maxOpen ?? 256;
  const agent = new Agent({ keepAlive: true, maxSockets: maxOpen });
  const total = Math.round(o.rate * o.durationS);
  const samples: PushSample[] = [];
  const pending = new Set<Promise<void>>();
  const start = performance.now();
  const hardStop = start + (o.durationS + (o.drainS ?? 30)) * 1000;
  let sent = 0;
  try {
    while (sent < total && performance.now() < hardStop) {
      const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * o.rate) + 1);
      for (; sent < due; sent++) {
        const aor = o.aors[sent % o.aors.length] as string;
        const pushId = `${o.idPrefix}-${sent}`;
        const pap = papPush({ pushId, address: userAddress(aor), content: CONTENT, notifyTo: o.notifyTo });
        const sample: PushSample = { pushId, aor, sentMs: performance.now() };
        samples.push(sample);
        const onSocket = () => (sample.socketMs = performance.now() - sample.sentMs);
        const p = post(url, agent, pap.contentType, pap.body, onSocket).then(
          (r) => {
            sample.papMs = performance.now() - sample.sentMs;
            const code = /code="(\d+)"/.exec(r.text.replace(/<progress-note[^>]*>/g, ''))?.[1];
            sample.papCode = code ? Number(code) : r.status;
            sample.hint = r.hint;
          },
          (err: unknown) => {
            sample.error = err instanceof Error ? err.message : String(err);
          },
        );
        pending.add(p);
        void p.finally(() => pending.delete(p));
      }
      await new Promise((r) => setTimeout(r, 2));
    }
    const drainUntil = Math.max(0, hardStop - performance.now());
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled([...pending]), new Promise((r) => (timer = setTimeout(r, drainUntil)))]);
    clearTimeout(timer);
    return samples;
  } finally {
    agent.destroy();
  }
}

/** Waits (bounded) until every accepted push has a sink receipt. */
export async function awaitTerminal(samples: PushSample[], sink: PpgSink, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const open = () => samples.filter((s) => s.papCode === 1001 && !sink.receipts.has(s.pushId)).length;
  while (open() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
}

/** Time to the terminal outcome (ms): the PAP answer for 3010, the sink receipt for 1001; undefined if none. */
export function terminalMs(s: PushSample, sink: PpgSink): number | undefined {
  if (s.papCode === 3010) return s.papMs;
  if (s.papCode !== 1001) return undefined;
  const receipt = sink.receipts.get(s.pushId);
  return receipt ? receipt.atMs - s.sentMs : undefined;
}

/** delivered (notification says so) or handed back with a hint (3010 + hint, or a /handback POST). */
export function succeeded(s: PushSample, sink: PpgSink): boolean {
  if (s.papCode === 3010) return Boolean(s.hint);
  if (s.papCode !== 1001) return false;
  const receipt = sink.receipts.get(s.pushId);
  if (!receipt) return false;
  return receipt.path === '/handback' || receipt.messageState === 'delivered';
}

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoRoot } from '../test/support/repo-paths.js';
import { checkoutLabel } from './cost.js';
import { fmt } from './lib/percentiles.js';
import { table } from './lib/report.js';
import { runJsonChild } from './lib/json-child.js';

const CONCURRENCY = 8;
const BODY = Buffer.from(
  '<?xml version="1.0"?>\n<!DOCTYPE pap PUBLIC "-//WAPFORUM//DTD PAP 2.0//EN" "http://www.openmobilealliance.org/tech/DTD/pap_2.0.dtd">\n' +
    '<pap><resultnotification-message push-id="p-1" sender-name="sip-push-agent" message-state="delivered" code="1000" desc="OK"/></pap>\n',
);
const ANSWER =
  '<?xml version="1.0"?>\n<pap><resultnotification-response push-id="p-1"><response-result code="1000" desc="OK"/></resultnotification-response></pap>\n';

type Client = {
  send?: (url: string, ct: string, body: Buffer, h: Record<string, string>, o: object) => Promise<{ status: number }>;
  post?: (url: string, ct: string, body: Buffer, h: Record<string, string>, s: AbortSignal, max: number) => Promise<{ status: number }>;
  close(): void;
};

/** In the child: POST `posts` times, print `{"usPerPost": …}`. */
async function child(root: string, url: string, posts: number): Promise<void> {
  const mod = (await import(pathToFileURL(resolve(root, 'src/push/outbox/ppg-http-client.ts')).href)) as {
    PpgHttpClient: new (o: object) => Client;
  };
  const client = new mod.PpgHttpClient({ userAgent: 'sip-push-agent/bench', maxSocketsPerOrigin: CONCURRENCY, requestTimeoutMs: 10_000 });
  const stop = new AbortController();
  const one = async (): Promise<void> => {
    if (client.send) {
      const r = await client.send(url, 'application/xml', BODY, {}, { timeoutMs: 10_000, maxBytes: 65536, signal: stop.signal });
      if (r.status !== 200) throw new Error(`HTTP ${r.status}`);
      return;
    }
    // As the older dispatcher did around each POST.
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(new Error('timed out')), 10_000);
    try {
      const r = await (client.post as NonNullable<Client['post']>)(url, 'application/xml', BODY, {}, ac.signal, 65536);
      if (r.status !== 200) throw new Error(`HTTP ${r.status}`);
    } finally {
      clearTimeout(timer);
    }
  };
  const run = async (n: number): Promise<void> => {
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < n) {
          next += 1;
          await one();
        }
      }),
    );
  };
  await run(Math.min(1000, posts)); // JIT and connections warm
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await run(posts);
  const cpu = process.cpuUsage(cpu0);
  const wallS = (performance.now() - t0) / 1000;
  client.close();
  console.log(JSON.stringify({ usPerPost: (cpu.user + cpu.system) / posts, perS: posts / wallS }));
}

function measure(root: string, url: string, posts: number): Promise<{ usPerPost: number; perS: number }> {
  return runJsonChild(resolve(repoRoot, 'bench/post-cost.ts'), root, [url, String(posts)]);
}

async function main(argv: string[]): Promise<void> {
  if (argv[0] === '--child') return child(argv[1] as string, argv[2] as string, Number(argv[3]));
  const arg = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const roots = (arg('--agent-root') ?? repoRoot).split(',').map((d) => resolve(d));
  const posts = Math.min(100_000, Math.max(100, Number(arg('--posts') ?? 5000)));
  const rounds = Math.min(5, Math.max(1, Number(arg('--rounds') ?? 2)));
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.setHeader('content-type', 'application/xml');
      res.end(ANSWER);
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/notify?push=p-1`;
  const results = new Map<string, number[]>();
  try {
    for (let round = 1; round <= rounds; round++) {
      for (const root of roots) {
        const name = checkoutLabel(root);
        const r = await measure(root, url, posts);
        console.log(`  ${name} round ${round}: ${fmt(r.usPerPost, 1)} µs CPU per POST (${fmt(r.perS)} POST/s wall)`);
        results.set(name, [...(results.get(name) ?? []), r.usPerPost]);
      }
    }
  } finally {
    server.closeAllConnections();
    server.close();
  }
  const rows = [...results].map(([name, xs]) => [
    name,
    fmt(xs.reduce((a, b) => a + b, 0) / xs.length, 1),
    `${fmt(Math.min(...xs), 1)}–${fmt(Math.max(...xs), 1)}`,
  ]);
  console.log(`\n${table(['client', `µs CPU per POST (mean of ${rounds}, ${posts} POSTs, ${CONCURRENCY} in flight)`, 'range'], rows)}`);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

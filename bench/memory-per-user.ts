/**
 * Memory per user, measured (run alone, briefly): `node --expose-gc --import tsx bench/memory-per-user.ts [part] [n]`
 *
 * - `entries <n>`: fills a CapabilityTable with n users, each from its own NOTIFY body (a Buffer, as the
 *   engines hand it over) parsed by the real PIDF parser, a quarter of them also with a delivery outcome;
 *   prints heap delta after full GCs / n — the bytes one capability entry costs, LRU slot and key included.
 * - `watched <n>`: an embedded engine watching n users (`Event: presence`) against a local UDP NOTIFY source
 *   in this process (answers each SUBSCRIBE 200 and sends one PIDF NOTIFY in the dialog); prints heap
 *   (after GC) and RSS per watched user right after the NOTIFYs, and heap once the server transactions
 *   of those NOTIFYs have finished (Timer J, 32 s over UDP) — the steady state.
 * - `entries-fast <n>`: the same per-entry data with one real parse per 1,000 users (see entriesFast).
 * One JSON line per run. Not a test: nothing asserts; compare before/after in bench/results/memory-per-user.md.
 */
import dgram from 'node:dgram';
import { CapabilityOracle } from '../src/capabilities/capability-oracle.js';
import { CapabilityTable } from '../src/capabilities/capability-table.js';
import { silentLogger } from '../src/lib/logger.js';
import type { PresenceDocument } from '../src/capabilities/presence-snapshot.js';
import { parsePresence } from '../src/presence/pidf-parser.js';
import { PresenceWatcher } from '../src/presence/presence-watcher.js';
import { loadProfile } from '../src/profiles/load-profile.js';
import { createEmbeddedEngine } from '../src/sip/embedded/embedded-engine.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');
const profile = loadProfile('kamailio-lab');

function pidf(user: string, host: string, basic: 'open' | 'closed'): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:op="urn:oma:xml:prs:pidf:oma-pres" xmlns:caps="urn:ietf:params:xml:ns:pidf:caps" entity="sip:${user}@${host}">\n` +
    `<tuple id="a8098a.${user}">\n<status><basic>${basic}</basic></status>\n` +
    '<op:service-description>\n<op:service-id>org.openmobilealliance:Push</op:service-id>\n<op:version>1.0</op:version>\n</op:service-description>\n' +
    '<caps:servcaps>\n<caps:methods><caps:supported><caps:MESSAGE/></caps:supported></caps:methods>\n</caps:servcaps>\n' +
    `<contact>sip:${user}@${host}</contact>\n<timestamp>2026-11-30T00:00:00Z</timestamp>\n</tuple>\n</presence>\n`
  );
}

function settled(): NodeJS.MemoryUsage {
  for (let i = 0; i < 4; i++) gc?.();
  return process.memoryUsage();
}

const userOf = (i: number): string => `u${String(i).padStart(8, '0')}`;

function entries(n: number): Record<string, unknown> {
  const table = new CapabilityTable({ maxUsers: n, profile });
  const before = settled();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const user = userOf(i);
    const aor = `sip:${user}@127.0.0.1`;
    table.recordPresence(aor, parsePresence(Buffer.from(pidf(user, '127.0.0.1', i % 4 === 3 ? 'closed' : 'open')), 'application/pidf+xml'));
    if (i % 4 === 0) table.recordDelivery(aor, { status: 200 });
  }
  const fillS = (performance.now() - t0) / 1000;
  const after = settled();
  if (table.stats().size !== n) throw new Error(`table holds ${table.stats().size}, expected ${n}`);
  return {
    part: 'entries',
    users: n,
    // Typed-array columns live outside the V8 heap (ArrayBuffer backing stores): counted with it.
    bytesPerEntry: Math.round((after.heapUsed + after.arrayBuffers - before.heapUsed - before.arrayBuffers) / n),
    heapOnlyBytesPerEntry: Math.round((after.heapUsed - before.heapUsed) / n),
    rssBytesPerEntry: Math.round((after.rss - before.rss) / n),
    fillSeconds: Number(fillS.toFixed(1)),
  };
}

/** A minimal presence server: 200 to every SUBSCRIBE (To tag added), then one NOTIFY in that dialog. */
async function notifySource(host: string): Promise<{ port: number; notifies: () => number; close: () => void }> {
  const socket = dgram.createSocket('udp4');
  let sent = 0;
  let cseq = 1;
  socket.on('message', (buf, rinfo) => {
    const text = buf.toString('utf8');
    const [head] = text.split('\r\n\r\n');
    const lines = head.split('\r\n');
    if (!lines[0].startsWith('SUBSCRIBE ')) return; // 200s to our NOTIFYs
    const h = (name: string): string =>
      lines
        .find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`))
        ?.slice(name.length + 1)
        .trim() ?? '';
    const tag = `t${sent + 1}`;
    const to = `${h('To')};tag=${tag}`;
    const contactUri = /<([^>]+)>/.exec(h('Contact'))?.[1] ?? `sip:${rinfo.address}:${rinfo.port}`;
    const expires = h('Expires') || '3600';
    const ok = [
      'SIP/2.0 200 OK',
      ...lines.filter((l) => /^via:/i.test(l)),
      `From: ${h('From')}`,
      `To: ${to}`,
      `Call-ID: ${h('Call-ID')}`,
      `CSeq: ${h('CSeq')}`,
      `Contact: <sip:ps@${host}:${(socket.address() as { port: number }).port}>`,
      `Expires: ${expires}`,
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n');
    socket.send(ok, rinfo.port, rinfo.address);
    const user = /sip:([^@]+)@/.exec(lines[0])?.[1] ?? 'x';
    const body = pidf(user, host, 'open');
    const notify = [
      `NOTIFY ${contactUri} SIP/2.0`,
      `Via: SIP/2.0/UDP ${host}:${(socket.address() as { port: number }).port};branch=z9hG4bKn${sent}x${cseq}`,
      `From: ${to}`,
      `To: ${h('From')}`,
      `Call-ID: ${h('Call-ID')}`,
      `CSeq: ${cseq++} NOTIFY`,
      `Contact: <sip:ps@${host}:${(socket.address() as { port: number }).port}>`,
      'Event: presence',
      `Subscription-State: active;expires=${expires}`,
      'Content-Type: application/pidf+xml',
      'Max-Forwards: 70',
      `Content-Length: ${Buffer.byteLength(body)}`,
      '',
      body,
    ].join('\r\n');
    sent++;
    socket.send(notify, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, host, resolve));
  return { port: socket.address().port, notifies: () => sent, close: () => socket.close() };
}

async function waitFor(what: string, condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function watched(n: number): Promise<Record<string, unknown>> {
  const host = '127.0.0.1';
  const source = await notifySource(host);
  const engine = createEmbeddedEngine({
    listen: [{ host, port: 0, transport: 'udp' }],
    outboundProxy: { host, port: source.port, transport: 'udp' },
    logger: silentLogger(),
  });
  await engine.start();
  const table = new CapabilityTable({ maxUsers: n, profile });
  const watcher = new PresenceWatcher({ engine, table, profile, logger: silentLogger(), maxConcurrentSubscribes: 50 });
  const oracle = new CapabilityOracle(table, [watcher]);
  const aors = Array.from({ length: n }, (_, i) => `sip:${userOf(i)}@${host}`);
  const before = settled();
  const t0 = performance.now();
  await watcher.watch(aors);
  await waitFor('every NOTIFY recorded', () => table.stats().presenceUpdates >= n, 120_000);
  const rssAfterNotify = process.memoryUsage().rss;
  const afterNotify = settled();
  const seconds = (performance.now() - t0) / 1000;
  // Timer J (64·T1 = 32 s) ends the NOTIFYs' server transactions; then the steady state.
  await new Promise((r) => setTimeout(r, 34_000));
  const steady = settled();
  const verdict = await oracle.decide(aors[0]);
  await watcher.stop(5000);
  await engine.stop();
  source.close();
  return {
    part: 'watched',
    users: n,
    heapBytesPerUserAfterNotify: Math.round((afterNotify.heapUsed - before.heapUsed) / n),
    rssBytesPerUserAfterNotify: Math.round((rssAfterNotify - before.rss) / n),
    heapBytesPerUserSteady: Math.round((steady.heapUsed - before.heapUsed) / n),
    externalBytesPerUserSteady: Math.round((steady.external - before.external) / n),
    subscribeSeconds: Number(seconds.toFixed(1)),
    firstVerdict: verdict.rule,
  };
}

/**
 * Like `entries`, but one real parse per 1,000 users: each user gets that document with its own tuple id
 * (so its own reason text, as from its own PIDF), its own entity and its own digest — the same per-entry
 * data at a fraction of the fill time (1M users in about a minute instead of 20).
 */
function entriesFast(n: number): Record<string, unknown> {
  const table = new CapabilityTable({ maxUsers: n, profile });
  const before = settled();
  const t0 = performance.now();
  let base: PresenceDocument | undefined;
  for (let i = 0; i < n; i++) {
    const user = userOf(i);
    const aor = `sip:${user}@127.0.0.1`;
    if (i % 1000 === 0 || !base) {
      const parsed = parsePresence(Buffer.from(pidf(user, '127.0.0.1', 'open')), 'application/pidf+xml');
      if (parsed.kind !== 'document') throw new Error('fixture did not parse as a document');
      base = parsed;
    }
    const digest = Buffer.alloc(16);
    digest.writeUInt32BE(i, 0);
    table.recordPresence(aor, {
      ...base,
      entity: aor,
      tuples: base.tuples.map((t) => ({ ...t, id: `a8098a.${user}` })),
      digest: digest.toString('base64url'),
      receivedAt: Date.now(),
    });
    if (i % 4 === 0) table.recordDelivery(aor, { status: 200 });
  }
  const fillS = (performance.now() - t0) / 1000;
  const after = settled();
  if (table.stats().size !== n) throw new Error(`table holds ${table.stats().size}, expected ${n}`);
  return {
    part: 'entries-fast',
    users: n,
    bytesPerEntry: Math.round((after.heapUsed + after.arrayBuffers - before.heapUsed - before.arrayBuffers) / n),
    heapOnlyBytesPerEntry: Math.round((after.heapUsed - before.heapUsed) / n),
    rssBytesPerEntry: Math.round((after.rss - before.rss) / n),
    fillSeconds: Number(fillS.toFixed(1)),
  };
}

const part = process.argv[2] ?? 'entries';
const n = Number(process.argv[3] ?? (part === 'entries' ? 100_000 : 2000));
const result = part === 'watched' ? await watched(n) : part === 'entries-fast' ? entriesFast(n) : entries(n);
console.log(JSON.stringify(result));

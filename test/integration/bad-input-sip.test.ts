/**
 * Bad input on the SIP side of the embedded engine, over real loopback sockets: random datagrams and
 * malformed SIP (fast-check), random TCP streams, NOTIFYs for dialogs that do not exist (481, RFC 6665
 * §4.1.3 / RFC 3261 §12.2.2), responses that match no transaction (dropped and counted, §17.1.3), and
 * peers outside `trustedPeers` (requests 403, responses dropped). After each barrage the engine still
 * answers a clean OPTIONS.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { EmbeddedEngine } from '../../src/sip/embedded/embedded-engine.js';
import type { BoundAddress } from '../../src/sip/port.js';
import { waitUntil } from '../support/poll.js';

const AGENT = '127.0.0.2';
let engine: EmbeddedEngine | undefined;
const closers: Array<() => void> = [];

afterEach(async () => {
  for (const close of closers.splice(0)) close();
  await engine?.stop();
  engine = undefined;
});

async function start(trustedPeers?: string[]): Promise<{ udp: BoundAddress; tcp: BoundAddress; engine: EmbeddedEngine }> {
  engine = new EmbeddedEngine({
    listen: [
      { host: AGENT, port: 0, transport: 'udp' },
      { host: AGENT, port: 0, transport: 'tcp' },
    ],
    timers: { t1Ms: 50, t2Ms: 400, t4Ms: 500 },
    maxMessageBytes: 8192,
    trustedPeers,
  });
  await engine.start();
  const find = (t: string) => engine!.localAddresses().find((a) => a.transport === t)!;
  return { udp: find('udp'), tcp: find('tcp'), engine };
}

function sipRequest(
  method: string,
  o: { branch?: string; toTag?: string; callId?: string; via?: string; extra?: string[]; body?: string } = {},
): Buffer {
  const body = o.body ?? '';
  return Buffer.from(
    [
      `${method} sip:agent@${AGENT} SIP/2.0`,
      o.via ?? `Via: SIP/2.0/UDP 127.0.0.1:5999;branch=${o.branch ?? `z9hG4bK-${Math.random().toString(36).slice(2)}`};rport`,
      'Max-Forwards: 70',
      'From: <sip:core@127.0.0.1>;tag=peer',
      `To: <sip:agent@${AGENT}>${o.toTag ? `;tag=${o.toTag}` : ''}`,
      `Call-ID: ${o.callId ?? Math.random().toString(36).slice(2)}@127.0.0.1`,
      `CSeq: 1 ${method}`,
      ...(o.extra ?? []),
      `Content-Length: ${Buffer.byteLength(body)}`,
      '',
      body,
    ].join('\r\n'),
    'latin1',
  );
}

async function udpPeer(host = '127.0.0.1') {
  const socket = dgram.createSocket('udp4');
  closers.push(() => socket.close());
  const received: string[] = [];
  // Only what the engine under test sent: other test files run in parallel on loopback, and a stray
  // retransmission of theirs may land on this ephemeral port.
  socket.on('message', (m, rinfo) => {
    if (rinfo.address === AGENT && engine?.localAddresses().some((a) => a.port === rinfo.port)) received.push(m.toString('latin1'));
  });
  await new Promise<void>((r) => socket.bind(0, host, () => r()));
  return {
    received,
    send: (data: Buffer, to: BoundAddress) => new Promise<void>((r) => socket.send(data, to.port, to.host, () => r())),
    /** An upper bound, returning as soon as `count` replies are in (2 s was too short at load 25). */
    waitFor: (count: number, timeoutMs = 10_000) => waitUntil(() => received.length >= count, timeoutMs),
  };
}

const statusOf = (text: string | undefined) => Number(/^SIP\/2\.0 (\d{3})/.exec(text ?? '')?.[1]);

/** A clean OPTIONS over UDP answers 200: the engine is alive and serving. */
async function stillServes(udp: BoundAddress): Promise<void> {
  const peer = await udpPeer();
  await peer.send(sipRequest('OPTIONS'), udp);
  expect(await peer.waitFor(1)).toBe(true);
  expect(statusOf(peer.received[0])).toBe(200);
}

/** A start line, some of the usual header lines in any order with up to two broken ones, then a random tail. */
const mangledSip = fc
  .record({
    start: fc.constantFrom(
      'MESSAGE sip:agent@127.0.0.2 SIP/2.0',
      'NOTIFY sip:agent@127.0.0.2 SIP/2.0',
      'OPTIONS sip:agent@127.0.0.2 SIP/2.0',
      'INVITE sip:agent@127.0.0.2 SIP/2.0',
      'FOO sip:agent@127.0.0.2 SIP/2.0',
      'MESSAGE agent SIP/3.0',
      'SIP/2.0 200 OK',
      'SIP/2.0 99999 What',
    ),
    good: fc.shuffledSubarray(
      [
        'Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK-fuzz;rport',
        'Max-Forwards: 70',
        'From: <sip:core@127.0.0.1>;tag=a',
        'To: <sip:agent@127.0.0.2>;tag=b',
        'Call-ID: fuzz@127.0.0.1',
        'CSeq: 1 MESSAGE',
        'Event: presence',
        'Subscription-State: active;expires=60',
        'Content-Type: application/pidf+xml',
      ],
      { minLength: 0, maxLength: 9 },
    ),
    bad: fc.array(
      fc.constantFrom(
        'Via: SIP/2.0/UDP [::1;branch=',
        'To: <sip:agent@127.0.0.2',
        'CSeq: x NOTIFY',
        'CSeq: 99999999999999999999 NOTIFY',
        'Subscription-State: active;expires=-1',
        'Content-Length: 5',
        'Content-Length: -1',
        'Content-Length: 999999999',
        'Max-Forwards: -3',
        '\u0000\u00ff',
      ),
      { maxLength: 2 },
    ),
    at: fc.nat(),
    tail: fc.string({ maxLength: 40 }),
    crlf: fc.constantFrom('\r\n', '\r\n', '\n'),
  })
  // A fresh branch per case, so each is a new server transaction, not a retransmission of the last one.
  .map(({ start, good, bad, at, tail, crlf }) => ({
    start,
    lines: [...good.slice(0, at % (good.length + 1)), ...bad, ...good.slice(at % (good.length + 1))],
    tail,
    crlf,
  }))
  .map(({ start, lines, tail, crlf }) =>
    Buffer.from([start, ...lines].join(crlf).replace('z9hG4bK-fuzz', `z9hG4bK-fuzz-${++fuzzBranch}`) + crlf + crlf + tail, 'latin1'),
  );
let fuzzBranch = 0;

describe('bad SIP input to the embedded engine', () => {
  it('survives random datagrams and mangled SIP (fast-check); replies are only SIP responses with sane codes', async () => {
    const { udp, engine: e } = await start();
    const peer = await udpPeer();
    let sent = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 1400 }).map((a) => Buffer.from(a)),
          mangledSip,
        ),
        async (datagram) => {
          sent += 1;
          await peer.send(datagram.length === 0 ? Buffer.from(' ') : datagram, udp);
        },
      ),
      { numRuns: 600 },
    );
    // Datagrams from one socket to another are read in order: once a well-formed OPTIONS sent last is
    // answered, the engine has read (and answered) every fuzz datagram that reached it. The burst can
    // overflow the socket's receive buffer on a busy machine (then the kernel drops some, the sentinel
    // too), so the OPTIONS is re-sent as a retransmission (same branch) until its 200 arrives.
    const sentinel = `z9hG4bK-fuzz-sentinel-${process.pid}`;
    const answered = () => peer.received.some((m) => m.includes(sentinel));
    for (const deadline = Date.now() + 20_000; !answered() && Date.now() < deadline; ) {
      await peer.send(sipRequest('OPTIONS', { branch: sentinel, callId: sentinel }), udp);
      await waitUntil(answered, 500);
    }
    expect(answered(), 'the answer to the OPTIONS sent after the fuzz').toBe(true);
    for (let k = peer.received.findIndex((m) => m.includes(sentinel)); k >= 0; k = peer.received.findIndex((m) => m.includes(sentinel)))
      peer.received.splice(k, 1);
    const codes = peer.received.map(statusOf);
    for (const [i, code] of codes.entries())
      expect([400, 403, 405, 481, 200], JSON.stringify(peer.received[i]?.slice(0, 300))).toContain(code);
    expect(codes.length).toBeGreaterThan(0);
    console.log(
      `bad-input-sip: ${sent} fuzz datagrams → ${codes.length} replies (${[...new Set(codes)].join('/')}), junk counted ${e.stats().junkMessages}`,
    );
    await stillServes(udp);
  }, 30_000);

  it('survives random TCP streams and keeps serving TCP and UDP', async () => {
    const { udp, tcp } = await start();
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 4000 }).map((a) => Buffer.from(a)),
          mangledSip,
        ),
        async (bytes) => {
          await new Promise<void>((resolve) => {
            const socket = net.connect(tcp.port, tcp.host, () => socket.end(bytes));
            socket.on('data', () => undefined);
            socket.on('error', () => resolve());
            socket.on('close', () => resolve());
            setTimeout(() => {
              socket.destroy();
              resolve();
            }, 500).unref();
          });
        },
      ),
      { numRuns: 120 },
    );
    const answer = await new Promise<string>((resolve, reject) => {
      let text = '';
      const socket = net.connect(tcp.port, tcp.host, () =>
        socket.write(sipRequest('OPTIONS', { via: `Via: SIP/2.0/TCP 127.0.0.1:5999;branch=z9hG4bK-tcp-ok` })),
      );
      closers.push(() => socket.destroy());
      socket.on('data', (d) => {
        text += d.toString('latin1');
        if (text.includes('\r\n\r\n')) resolve(text);
      });
      socket.on('error', reject);
    });
    expect(statusOf(answer)).toBe(200);
    await stillServes(udp);
  }, 60_000);

  it('answers 481 to NOTIFYs for unknown dialogs, with or without a To tag, and 400 when a mandatory header is missing', async () => {
    const { udp } = await start();
    const peer = await udpPeer();
    await peer.send(sipRequest('NOTIFY', { toTag: 'nope', extra: ['Event: presence', 'Subscription-State: active;expires=60'] }), udp);
    await peer.send(sipRequest('NOTIFY', { extra: ['Event: presence', 'Subscription-State: terminated'] }), udp);
    await peer.send(
      Buffer.from(
        sipRequest('NOTIFY', { toTag: 'x' })
          .toString('latin1')
          .replace(/CSeq: [^\r]*\r\n/, ''),
        'latin1',
      ),
      udp,
    );
    expect(await peer.waitFor(3)).toBe(true);
    expect(peer.received.map(statusOf).sort()).toEqual([400, 481, 481]);
  });

  it('drops and counts responses that match no transaction, and answers nothing to them', async () => {
    const { udp, engine: e } = await start();
    const peer = await udpPeer();
    const stray = (status: number, branch: string) =>
      Buffer.from(
        [
          `SIP/2.0 ${status} X`,
          `Via: SIP/2.0/UDP ${AGENT}:${udp.port};branch=${branch}`,
          'From: <sip:a@x>;tag=1',
          'To: <sip:b@x>;tag=2',
          'Call-ID: stray',
          'CSeq: 1 MESSAGE',
          'Content-Length: 0',
          '',
          '',
        ].join('\r\n'),
      );
    for (let i = 0; i < 25; i += 1) await peer.send(stray([100, 200, 404, 480, 503][i % 5]!, `z9hG4bK-stray-${i}`), udp);
    await waitUntil(() => e.stats().strayResponses >= 25, 10_000);
    expect(e.stats().strayResponses).toBe(25);
    expect(peer.received).toHaveLength(0);
    await stillServes(udp);
  });

  it('refuses requests from outside trustedPeers with 403 and drops their responses; trusted peers are served', async () => {
    const { udp, engine: e } = await start(['127.0.0.1/32']);
    let handled = 0;
    e.onIncomingRequest(() => {
      handled += 1;
      return { status: 200 };
    });
    const outsider = await udpPeer('127.0.0.3');
    await outsider.send(sipRequest('MESSAGE', { via: 'Via: SIP/2.0/UDP 127.0.0.3:5999;branch=z9hG4bK-out;rport', body: 'hi' }), udp);
    await outsider.send(sipRequest('NOTIFY', { via: 'Via: SIP/2.0/UDP 127.0.0.3:5999;branch=z9hG4bK-out2;rport', toTag: 't' }), udp);
    await outsider.send(
      Buffer.from(
        `SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP ${AGENT};branch=z9hG4bK-x\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@x>\r\nCall-ID: c\r\nCSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n`,
      ),
      udp,
    );
    expect(await outsider.waitFor(2)).toBe(true);
    await waitUntil(() => e.stats().untrusted >= 3, 10_000); // the third (a response) is dropped, not answered
    expect(outsider.received.map(statusOf)).toEqual([403, 403]);
    expect(handled).toBe(0);
    expect(e.stats().untrusted).toBe(3);
    expect(e.stats().strayResponses).toBe(0);

    const insider = await udpPeer('127.0.0.1');
    await insider.send(sipRequest('MESSAGE', { body: 'hi' }), udp);
    expect(await insider.waitFor(1)).toBe(true);
    expect(statusOf(insider.received[0])).toBe(200);
    expect(handled).toBe(1);
  });
});

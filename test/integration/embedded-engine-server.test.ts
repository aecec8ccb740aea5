/**
 * The embedded engine's server side over real loopback sockets: the peer is a plain UDP/TCP socket
 * writing raw SIP, so each test controls the exact bytes (retransmissions, junk, floods).
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createEmbeddedEngine } from '../../src/sip/embedded/embedded-engine.js';
import type { BoundAddress, IncomingRequest, SipEngine } from '../../src/sip/port.js';
import { letTimePass, waitUntil } from '../support/poll.js';

const AGENT_HOST = '127.0.0.2';
let engine: SipEngine | undefined;
const sockets: Array<{ close(): void }> = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.close();
  await engine?.stop();
  engine = undefined;
});

async function startEngine(): Promise<{ sip: SipEngine; udp: BoundAddress; tcp: BoundAddress }> {
  engine = createEmbeddedEngine({
    listen: [
      { host: AGENT_HOST, port: 0, transport: 'udp' },
      { host: AGENT_HOST, port: 0, transport: 'tcp' },
    ],
    timers: { t1Ms: 50, t2Ms: 400, t4Ms: 500 },
    maxMessageBytes: 4096,
  });
  await engine.start();
  const [udp, tcp] = ['udp', 'tcp'].map((t) => engine!.localAddresses().find((a) => a.transport === t)!);
  return { sip: engine, udp, tcp };
}

function request(
  method: string,
  options: { branch?: string; omit?: string; toTag?: string; body?: Buffer; port?: number; transport?: string } = {},
): Buffer {
  const body = options.body ?? Buffer.alloc(0);
  const lines = [
    `${method} sip:agent@${AGENT_HOST} SIP/2.0`,
    `Via: SIP/2.0/${options.transport ?? 'UDP'} 127.0.0.1:${options.port ?? 5999};branch=${options.branch ?? 'z9hG4bK-peer-1'};rport`,
    'Max-Forwards: 70',
    'From: <sip:alice@127.0.0.1>;tag=peer',
    `To: <sip:agent@${AGENT_HOST}>${options.toTag ? `;tag=${options.toTag}` : ''}`,
    'Call-ID: call-1@127.0.0.1',
    `CSeq: 7 ${method}`,
    `Content-Length: ${body.length}`,
  ].filter((line) => !options.omit || !line.startsWith(`${options.omit}:`));
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), body]);
}

/** A UDP peer on 127.0.0.1 that collects what it receives. */
async function udpPeer() {
  const socket = dgram.createSocket('udp4');
  sockets.push(socket);
  const received: string[] = [];
  socket.on('message', (m) => received.push(m.toString('latin1')));
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  return {
    port: socket.address().port,
    received,
    send: (data: Buffer, to: BoundAddress) => new Promise<void>((r) => socket.send(data, to.port, to.host, () => r())),
    async next(count: number, timeoutMs = 2000): Promise<string[]> {
      await waitUntil(() => received.length >= count, timeoutMs, 10);
      return received.slice(0, count);
    },
  };
}

const status = (response: string | undefined) => Number(/^SIP\/2\.0 (\d{3})/.exec(response ?? '')?.[1]);

describe('embedded engine server side (RFC 3261 §8.2, §17.2)', () => {
  it('hands an out-of-dialog MESSAGE to the handler byte-exact and re-sends the same response to a retransmission', async () => {
    const { sip, udp } = await startEngine();
    const seen: IncomingRequest[] = [];
    sip.onIncomingRequest((rq) => {
      seen.push(rq);
      return { status: 202, reason: 'Accepted' };
    });
    const peer = await udpPeer();
    const body = Buffer.from([0, 0xff, 0x0d, 0x0a, 0x41]);
    const msg = request('MESSAGE', { port: peer.port, body });
    await peer.send(msg, udp);
    await peer.next(1);
    await peer.send(msg, udp); // retransmission: absorbed by the server transaction
    const [first, second] = await peer.next(2);
    expect(status(first)).toBe(202);
    expect(second).toBe(first);
    expect(first).toMatch(/^To: <sip:agent@127\.0\.0\.2>;tag=\w+\r$/m);
    expect(first).toMatch(new RegExp(`;rport=${peer.port};received=127\\.0\\.0\\.1`));
    expect(seen).toHaveLength(1);
    expect(seen[0].body.equals(body)).toBe(true);
    expect(seen[0].from).toBe('sip:alice@127.0.0.1');
    expect(seen[0].source).toEqual({ host: '127.0.0.1', port: peer.port, transport: 'udp' });
  });

  it('answers OPTIONS 200 with Allow, unknown methods 405 with Allow, unknown NOTIFY 481, missing Call-ID 400', async () => {
    const { udp } = await startEngine();
    const peer = await udpPeer();
    await peer.send(request('OPTIONS', { port: peer.port, branch: 'z9hG4bK-o' }), udp);
    await peer.send(request('PUBLISH', { port: peer.port, branch: 'z9hG4bK-p' }), udp);
    await peer.send(request('NOTIFY', { port: peer.port, branch: 'z9hG4bK-n', toTag: 'nope' }), udp);
    await peer.send(request('MESSAGE', { port: peer.port, branch: 'z9hG4bK-m', omit: 'Call-ID' }), udp);
    const responses = await peer.next(4);
    const byMethod = (m: string) => responses.find((r) => r.includes(`CSeq: 7 ${m}\r\n`))!;
    expect(status(byMethod('OPTIONS'))).toBe(200);
    expect(byMethod('OPTIONS')).toMatch(/^Allow: MESSAGE, OPTIONS, NOTIFY\r$/m);
    expect(status(byMethod('PUBLISH'))).toBe(405);
    expect(byMethod('PUBLISH')).toMatch(/^Allow: /m);
    expect(status(byMethod('NOTIFY'))).toBe(481);
    expect(byMethod('MESSAGE')).toMatch(/^SIP\/2\.0 400 Missing Call-ID\r$/m);
  });

  it('never answers ACK, survives junk datagrams and counts them', async () => {
    const { sip, udp } = await startEngine();
    const peer = await udpPeer();
    await peer.send(request('ACK', { port: peer.port }), udp);
    await peer.send(Buffer.from([0xde, 0xad, 0xbe, 0xef]), udp);
    await peer.send(Buffer.from('GARBAGE\r\n\r\n'), udp);
    await peer.send(request('OPTIONS', { port: peer.port, branch: 'z9hG4bK-after' }), udp);
    const [only] = await peer.next(1);
    expect(status(only)).toBe(200);
    await letTimePass(100); // under test: no late answer to the ACK or the junk (a loopback answer takes ~1 ms)
    expect(peer.received).toHaveLength(1);
    expect((sip.stats() as { junkMessages?: number }).junkMessages).toBe(2);
  });

  it('answers a request received over TCP on the same connection, and closes a flooding connection', async () => {
    const { tcp } = await startEngine();
    const socket = net.connect({ host: tcp.host, port: tcp.port, localAddress: '127.0.0.1' });
    sockets.push({ close: () => socket.destroy() });
    await new Promise<void>((r) => socket.once('connect', () => r()));
    let data = '';
    socket.on('data', (c: Buffer) => (data += c.toString('latin1')));
    const msg = request('MESSAGE', { transport: 'TCP', port: socket.localPort, body: Buffer.from('hi') });
    socket.write(msg.subarray(0, 40)); // split across writes: framing by Content-Length
    await letTimePass(20); // under test: the two halves arrive as separate reads
    socket.write(msg.subarray(40));
    await waitUntil(() => data.includes('\r\n\r\n'), 1000, 10);
    expect(status(data)).toBe(200);
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    socket.write(request('MESSAGE', { transport: 'TCP', branch: 'z9hG4bK-big', body: Buffer.alloc(10_000, 0x41) }));
    await closed; // maxMessageBytes 4096: flood → connection closed
  });

  it('rejects start() with a clear message when the address is taken', async () => {
    const { udp } = await startEngine();
    const second = createEmbeddedEngine({ listen: [{ host: AGENT_HOST, port: udp.port, transport: 'udp' }] });
    await expect(second.start()).rejects.toThrow(/cannot bind UDP 127\.0\.0\.2/);
    expect(second.connected).toBe(false);
  });

  it('fails a pending request with transport when the engine stops', async () => {
    const { sip } = await startEngine();
    const peer = await udpPeer(); // never answers
    const pending = sip.request({
      method: 'MESSAGE',
      requestUri: 'sip:alice@127.0.0.1',
      from: 'sip:agent@127.0.0.2',
      nextHop: { host: '127.0.0.1', port: peer.port, transport: 'udp' },
    });
    await peer.next(1);
    await sip.stop();
    await expect(pending).rejects.toMatchObject({ code: 'SIP_TRANSPORT' });
  });

  it('rejects a request to a transport it does not listen on, and a TCP peer that refuses', async () => {
    const { sip } = await startEngine();
    const closedPort = await new Promise<number>((resolve) => {
      const server = net.createServer().listen(0, '127.0.0.1', () => {
        const port = (server.address() as net.AddressInfo).port;
        server.close(() => resolve(port));
      });
    });
    await expect(
      sip.request({
        method: 'MESSAGE',
        requestUri: 'sip:a@127.0.0.1',
        from: 'sip:agent@127.0.0.2',
        nextHop: { host: '127.0.0.1', port: closedPort, transport: 'tcp' },
      }),
    ).rejects.toMatchObject({ code: 'SIP_TRANSPORT' });
    const udpOnly = createEmbeddedEngine({ listen: [{ host: AGENT_HOST, port: 0, transport: 'udp' }] });
    await udpOnly.start();
    try {
      await expect(
        udpOnly.request({
          method: 'MESSAGE',
          requestUri: 'sip:a@127.0.0.1',
          from: 'sip:agent@127.0.0.2',
          nextHop: { host: '127.0.0.1', port: closedPort, transport: 'tcp' },
        }),
      ).rejects.toMatchObject({ code: 'SIP_TRANSPORT' });
    } finally {
      await udpOnly.stop();
    }
  });
});

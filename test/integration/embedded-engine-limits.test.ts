/**
 * The embedded engine's bounds (`sip.limits`) over real loopback sockets, with small limits so each case
 * is quick: 513 for an oversized datagram (RFC 3261 §21.5.14), 503 + Retry-After past the cap of held
 * server transactions (§21.5.4), and on TCP the trust check at accept, the connection caps, the
 * per-message deadline and the idle timeout.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { EmbeddedEngine } from '../../src/sip/embedded/embedded-engine.js';
import type { SipLimitsInput } from '../../src/sip/embedded/sip-limits.js';
import type { BoundAddress } from '../../src/sip/port.js';
import { letTimePass, waitUntil } from '../support/poll.js';
import { floodRequest } from '../support/sip-flood.js';

const AGENT = '127.0.0.2';
let engine: EmbeddedEngine | undefined;
const closers: Array<() => void> = [];

afterEach(async () => {
  for (const close of closers.splice(0)) close();
  await engine?.stop();
  engine = undefined;
});

async function start(limits: SipLimitsInput, trustedPeers = ['127.0.0.1']): Promise<{ udp: BoundAddress; tcp: BoundAddress }> {
  engine = new EmbeddedEngine({
    listen: [
      { host: AGENT, port: 0, transport: 'udp' },
      { host: AGENT, port: 0, transport: 'tcp' },
    ],
    timers: { t1Ms: 500, t2Ms: 4000, t4Ms: 5000 }, // Timer J = 32 s: held transactions stay for the test
    trustedPeers,
    limits,
  });
  await engine.start();
  const find = (t: string) => engine!.localAddresses().find((a) => a.transport === t)!;
  return { udp: find('udp'), tcp: find('tcp') };
}

async function udpPeer(host: string) {
  const socket = dgram.createSocket('udp4');
  closers.push(() => socket.close());
  const received: string[] = [];
  socket.on('message', (m) => received.push(m.toString('latin1')));
  await new Promise<void>((r) => socket.bind(0, host, () => r()));
  const local = { host, port: socket.address().port };
  return {
    local,
    received,
    send: (data: Buffer, to: BoundAddress) => new Promise<void>((r) => socket.send(data, to.port, to.host, () => r())),
  };
}

function tcpConnect(from: string, to: BoundAddress) {
  const socket = net.connect({ host: to.host, port: to.port, localAddress: from });
  closers.push(() => socket.destroy());
  const state = { connected: false, closedAt: 0, data: '' };
  socket.on('connect', () => (state.connected = true));
  socket.on('data', (d) => (state.data += d.toString('latin1')));
  socket.on('error', () => undefined);
  socket.on('close', () => (state.closedAt = Date.now()));
  return { socket, state };
}

const statusOf = (text: string | undefined) => Number(/^SIP\/2\.0 (\d{3})/.exec(text ?? '')?.[1]);

describe('embedded engine limits (sip.limits)', () => {
  it('answers an over-limit UDP request 513 from its routing headers alone, keeps nothing, and drops one from an untrusted peer', async () => {
    const { udp } = await start({ maxHeaderBytes: 2048 });
    const core = await udpPeer('127.0.0.1');
    const big = (branch: string, local: { host: string; port: number }) =>
      floodRequest({ method: 'OPTIONS', to: udp, via: { ...local, transport: 'UDP' }, branch, filler: 10_000 });
    await core.send(big('z9hG4bK-big-1', core.local), udp);
    expect(await waitUntil(() => core.received.length === 1, 2000)).toBe(true);
    const answer = core.received[0]!;
    expect(statusOf(answer)).toBe(513);
    expect(answer).toMatch(/^Via: SIP\/2\.0\/UDP 127\.0\.0\.1:\d+;branch=z9hG4bK-big-1;rport=\d+;received=127\.0\.0\.1\r$/m);
    expect(answer).toMatch(/^To: <sip:agent@127\.0\.0\.2>;tag=/m);
    expect(answer).toMatch(/^CSeq: 1 OPTIONS\r$/m);
    expect(answer).not.toContain('X-Filler');
    const outsider = await udpPeer('127.0.0.3');
    await outsider.send(big('z9hG4bK-big-2', outsider.local), udp);
    // a normal request after it is answered, so the oversized one has been handled by then
    await outsider.send(
      floodRequest({ method: 'OPTIONS', to: udp, via: { ...outsider.local, transport: 'UDP' }, branch: 'z9hG4bK-small' }),
      udp,
    );
    expect(await waitUntil(() => outsider.received.length === 1, 2000)).toBe(true);
    expect(outsider.received.map(statusOf)).toEqual([403]);
    const stats = engine!.stats();
    expect(stats.oversizeMessages).toBe(2);
    expect(stats.serverTransactions).toBe(0); // 513 and 403 are stateless
  });

  it('past maxServerTransactions answers 503 with Retry-After statelessly; a held transaction still answers its retransmission', async () => {
    const { udp } = await start({ maxServerTransactions: 3, retryAfterSeconds: 7 });
    const core = await udpPeer('127.0.0.1');
    const notify = (i: number) =>
      floodRequest({ method: 'NOTIFY', to: udp, via: { ...core.local, transport: 'UDP' }, branch: `z9hG4bK-n${i}`, toTag: 'gone' });
    for (let i = 0; i < 5; i += 1) await core.send(notify(i), udp);
    expect(await waitUntil(() => core.received.length === 5, 2000)).toBe(true);
    expect(core.received.map(statusOf)).toEqual([481, 481, 481, 503, 503]);
    expect(core.received[3]).toMatch(/^Retry-After: 7\r$/m);
    expect(engine!.stats().serverTransactions).toBe(3);
    expect(engine!.stats().serverTransactionsRefused).toBe(2);
    await core.send(notify(1), udp); // a retransmission of a held one: the same 481, not a 503
    expect(await waitUntil(() => core.received.length === 6, 2000)).toBe(true);
    expect(core.received[5]).toBe(core.received[1]);
  });

  it('past maxServerTransactionBytes of held responses answers 503 too', async () => {
    const { udp } = await start({ maxServerTransactionBytes: 1000 });
    const core = await udpPeer('127.0.0.1');
    for (let i = 0; i < 10; i += 1) {
      await core.send(
        floodRequest({ method: 'NOTIFY', to: udp, via: { ...core.local, transport: 'UDP' }, branch: `z9hG4bK-b${i}`, toTag: 'gone' }),
        udp,
      );
    }
    expect(await waitUntil(() => core.received.length === 10, 2000)).toBe(true);
    const statuses = core.received.map(statusOf);
    const held = statuses.filter((s) => s === 481).length;
    expect(held).toBeGreaterThan(0);
    expect(statuses).toEqual([...Array(held).fill(481), ...Array(10 - held).fill(503)]);
    const stats = engine!.stats();
    expect(stats.serverTransactions).toBe(held);
    expect(stats.serverTransactionBytes).toBeGreaterThanOrEqual(1000);
    expect(stats.serverTransactionBytes - 1000).toBeLessThan(core.received[0]!.length);
  });

  it('closes a TCP connection from an untrusted address at accept, before any message', async () => {
    const { tcp } = await start({});
    const outsider = tcpConnect('127.0.0.3', tcp);
    outsider.socket.write(`OPTIONS sip:agent@${AGENT} SIP/2.0\r\nX-Filler: ${'c'.repeat(1000)}`);
    expect(await waitUntil(() => outsider.state.closedAt > 0, 2000)).toBe(true);
    expect(outsider.state.data).toBe('');
    expect(engine!.stats().tcp.refused.untrusted).toBe(1);
    expect(engine!.stats().refused['tcp-untrusted']).toBe(1);
    expect(engine!.stats().tcp.inboundConnections).toBe(0);
  });

  it('caps TCP connections per peer and in all, and frees the slots when they close', async () => {
    const { tcp } = await start({ tcp: { maxConnections: 5, maxConnectionsPerPeer: 3 } }, ['127.0.0.1', '127.0.0.4']);
    const fromOne = Array.from({ length: 5 }, () => tcpConnect('127.0.0.1', tcp));
    expect(await waitUntil(() => fromOne.filter((c) => c.state.closedAt > 0).length === 2, 2000)).toBe(true);
    const fromFour = Array.from({ length: 4 }, () => tcpConnect('127.0.0.4', tcp));
    expect(await waitUntil(() => fromFour.filter((c) => c.state.closedAt > 0).length === 2, 2000)).toBe(true);
    const stats = engine!.stats().tcp;
    expect(stats.inboundConnections).toBe(5);
    expect(stats.refused).toEqual({ untrusted: 0, 'connection-limit': 2, 'peer-connection-limit': 2 });
    for (const c of [...fromOne, ...fromFour]) c.socket.destroy();
    expect(await waitUntil(() => engine!.stats().tcp.inboundConnections === 0, 2000)).toBe(true);
    const again = tcpConnect('127.0.0.1', tcp);
    again.socket.write(
      floodRequest({ method: 'OPTIONS', to: tcp, via: { host: '127.0.0.1', port: 5999, transport: 'TCP' }, branch: 'z9hG4bK-again' }),
    );
    expect(await waitUntil(() => statusOf(again.state.data) === 200, 2000)).toBe(true);
  });

  it('cuts a TCP message that is not complete within messageTimeoutMs even while bytes keep arriving', async () => {
    const { tcp } = await start({ tcp: { messageTimeoutMs: 400 } });
    const slow = tcpConnect('127.0.0.1', tcp);
    await waitUntil(() => slow.state.connected, 2000);
    const started = Date.now();
    slow.socket.write(`OPTIONS sip:agent@${AGENT} SIP/2.0\r\n`);
    const trickle = setInterval(() => slow.socket.writable && slow.socket.write('X'), 50);
    closers.push(() => clearInterval(trickle));
    expect(await waitUntil(() => slow.state.closedAt > 0, 3000)).toBe(true);
    expect(slow.state.closedAt - started).toBeGreaterThanOrEqual(350);
    expect(engine!.stats().tcp.messageTimeouts).toBe(1);
  });

  it('keeps a TCP connection whose messages each complete in time, and closes it after idleTimeoutMs without traffic', async () => {
    const { tcp } = await start({ tcp: { messageTimeoutMs: 1500, idleTimeoutMs: 2000 } });
    const peer = tcpConnect('127.0.0.1', tcp);
    await waitUntil(() => peer.state.connected, 2000);
    const started = Date.now();
    // three messages over ~900 ms, each complete within its own deadline
    for (let i = 0; i < 3; i += 1) {
      const bytes = floodRequest({
        method: 'OPTIONS',
        to: tcp,
        via: { host: '127.0.0.1', port: 5999, transport: 'TCP' },
        branch: `z9hG4bK-ok${i}`,
      });
      peer.socket.write(bytes.subarray(0, 20));
      await letTimePass(150); // the sender pauses mid-message: under test (within messageTimeoutMs)
      peer.socket.write(bytes.subarray(20));
      const answered = () => (peer.state.data.match(/^SIP\/2\.0 200/gm)?.length ?? 0) > i;
      expect(await waitUntil(answered, 2000)).toBe(true);
      await letTimePass(150); // traffic keeps coming at intervals below idleTimeoutMs: under test
    }
    expect(peer.state.data.match(/^SIP\/2\.0 200/gm)?.length).toBe(3);
    expect(peer.state.closedAt).toBe(0);
    expect(await waitUntil(() => peer.state.closedAt > 0, 5000)).toBe(true);
    expect(peer.state.closedAt - started).toBeGreaterThanOrEqual(750 + 2000 - 100); // last byte at ≥ 750 ms
    expect(engine!.stats().tcp.messageTimeouts).toBe(0);
  });
});

/**
 * The embedded engine against real SIPp processes on loopback (no Kamailio). SIPp listens on 127.0.0.1,
 * the engine on 127.0.0.2 (docs/interop.md: keep the agent's address distinct from the peer's).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { useProcessCleanup } from '../support/cleanup.js';
import { waitUntil } from '../support/poll.js';
import { captureLoopback } from '../support/loopback-capture.js';
import { runSipp, sippMissingReason, type SippHandle } from '../support/sipp.js';
import { createEmbeddedEngine } from '../../src/sip/embedded/embedded-engine.js';
import type { BoundAddress, NotifyEvent, SipEngine, SipTransport, SubscriptionEnded } from '../../src/sip/port.js';

const missing = sippMissingReason();
if (missing) console.warn(`embedded-engine-sipp: skipped, ${missing}`);

const AGENT_HOST = '127.0.0.2';
const BINARY_BODY = Buffer.from([0x57, 0x42, 0x00, 0x0d, 0x0a, 0xff, 0xfe, 0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x80, 0x45]);

describe.skipIf(!!missing)('embedded engine ⇄ SIPp', () => {
  useProcessCleanup('each');
  let engine: SipEngine | undefined;

  afterEach(async () => {
    await engine?.stop();
    engine = undefined;
  });

  async function startEngine(t1Ms = 500): Promise<SipEngine> {
    engine = createEmbeddedEngine({
      listen: [
        { host: AGENT_HOST, port: 0, transport: 'udp' },
        { host: AGENT_HOST, port: 0, transport: 'tcp' },
      ],
      timers: { t1Ms, t2Ms: 8 * t1Ms, t4Ms: 10 * t1Ms },
    });
    await engine.start();
    return engine;
  }

  async function uas(scenario: string, transport: SipTransport, extraArgs: string[] = []): Promise<SippHandle> {
    const sipp = await runSipp({
      scenario: `test/sipp/${scenario}`,
      transport: transport === 'tcp' ? 't1' : 'u1',
      calls: 1,
      timeoutS: 20,
      extraArgs,
    });
    await sipp.ready();
    return sipp;
  }

  function hopOf(sipp: SippHandle, transport: SipTransport): BoundAddress {
    return { host: sipp.host, port: sipp.port, transport };
  }

  function message(sipp: SippHandle, transport: SipTransport, body = Buffer.from('hello')) {
    return {
      method: 'MESSAGE',
      requestUri: `sip:alice@${sipp.host}:${sipp.port}`,
      from: `sip:push-agent@${AGENT_HOST}`,
      contentType: 'application/vnd.wap.sic',
      body,
      nextHop: hopOf(sipp, transport),
    };
  }

  for (const transport of ['udp', 'tcp'] as const) {
    it(`MESSAGE over ${transport}: 200, binary body byte-exact, Content-Length in bytes`, async () => {
      const sip = await startEngine();
      const sipp = await uas('engine-uas-message.xml', transport);
      const capture = await captureLoopback(sipp.port);
      const response = await sip.request(message(sipp, transport, BINARY_BODY));
      expect(response.status).toBe(200);
      expect(response.body.length).toBe(0);
      expect((await sipp.done).code).toBe(0);
      if (capture) expect((await capture.stop()).includes(BINARY_BODY)).toBe(true);
      const received = sipp.messages().find((m) => m.method === 'MESSAGE')!;
      expect(received.text).toMatch(new RegExp(`^Content-Length: ${BINARY_BODY.length}\\r?$`, 'm'));
      // SIPp counted every byte: the header section it traced + CRLF CRLF + the whole binary body
      const headerBytes = Buffer.byteLength(received.text.split('\r\n\r\n')[0], 'latin1');
      expect(received.bytes).toBe(headerBytes + 4 + BINARY_BODY.length);
      expect(received.body.startsWith('WB')).toBe(true);
      expect(received.text).toMatch(
        new RegExp(`^Via: SIP/2.0/${transport.toUpperCase()} ${AGENT_HOST}:\\d+;branch=z9hG4bK\\w+;rport`, 'm'),
      );
      expect(received.text).toMatch(/^Max-Forwards: 70\r?$/m);
      expect(received.text).not.toMatch(/^Contact:/m);
      expect(sip.stats().requestsSent.MESSAGE).toBe(1);
      expect(sip.stats().responsesReceived['200']).toBe(1);
    });

    it(`MESSAGE over ${transport}: 100 then 200 resolves with the 200`, async () => {
      const sip = await startEngine();
      const sipp = await uas('engine-uas-message-100-200.xml', transport);
      const response = await sip.request(message(sipp, transport));
      expect(response.status).toBe(200);
      expect(sip.stats().responsesReceived['100']).toBe(1);
      expect((await sipp.done).code).toBe(0);
    });
  }

  it('MESSAGE through the outbound proxy carries Route: <sip:proxy;lr> and goes to the proxy', async () => {
    const sipp = await uas('engine-uas-message.xml', 'udp');
    engine = createEmbeddedEngine({
      listen: [{ host: AGENT_HOST, port: 0, transport: 'udp' }],
      outboundProxy: hopOf(sipp, 'udp'),
    });
    await engine.start();
    const response = await engine.request({
      method: 'MESSAGE',
      requestUri: 'sip:bob@example.invalid',
      from: `sip:push-agent@${AGENT_HOST}`,
    });
    expect(response.status).toBe(200);
    const received = sipp.messages().find((m) => m.method === 'MESSAGE')!;
    expect(received.startLine).toBe('MESSAGE sip:bob@example.invalid SIP/2.0');
    expect(received.text).toMatch(new RegExp(`^Route: <sip:${sipp.host}:${sipp.port};lr>\\r?$`, 'm'));
  });

  it('MESSAGE over UDP to a UAS that drops the first copy: 200 via retransmission, counted', async () => {
    const sip = await startEngine(100);
    const sipp = await uas('engine-uas-message-drop-first.xml', 'udp', ['-nr']);
    const started = Date.now();
    const response = await sip.request(message(sipp, 'udp'));
    expect(response.status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(90); // Timer E = T1
    expect(sip.stats().retransmissions).toBeGreaterThanOrEqual(1);
    expect(sipp.messages().filter((m) => m.method === 'MESSAGE' && m.direction === 'received').length).toBeGreaterThanOrEqual(2);
  });

  it('MESSAGE over UDP to a peer that never answers: timeout at 64·T1 (T1 = 50 ms)', async () => {
    const sip = await startEngine(50);
    const sipp = await uas('engine-uas-silent.xml', 'udp', ['-nr', '-default_behaviors', 'none']);
    const started = Date.now();
    await expect(sip.request(message(sipp, 'udp'))).rejects.toMatchObject({ code: 'SIP_TIMEOUT' });
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(3200 - 20);
    expect(elapsed).toBeLessThan(4500);
    expect(sip.stats().transactionTimeouts).toBe(1);
    // T1=50, T2=400: retransmissions at 50,150,350,750,1150,... → about 10 copies within 3.2 s
    expect(sip.stats().retransmissions).toBeGreaterThanOrEqual(8);
  });

  for (const transport of ['udp', 'tcp'] as const) {
    it(`SUBSCRIBE over ${transport} to a SIPp notifier: PIDF NOTIFY, then terminated`, async () => {
      const sip = await startEngine();
      const sipp = await uas('engine-notifier.xml', transport);
      const notifies: NotifyEvent[] = [];
      let ended: SubscriptionEnded | undefined;
      const subscription = await sip.subscribe(
        {
          resource: `sip:alice@${sipp.host}`,
          from: `sip:push-agent@${AGENT_HOST}`,
          event: 'presence',
          accept: ['application/pidf+xml'],
          expires: 600,
          nextHop: hopOf(sipp, transport),
        },
        { onNotify: (n) => notifies.push(n), onEnded: (e) => (ended = e) },
      );
      expect(await waitUntil(() => ended !== undefined, 5_000)).toBe(true);
      expect(notifies).toHaveLength(2);
      expect(notifies[0].subscriptionState).toEqual({ state: 'active', expires: 600 });
      expect(notifies[0].contentType).toBe('application/pidf+xml');
      expect(notifies[0].body.toString('utf8')).toContain('<basic>open</basic>');
      expect(notifies[1].body.length).toBe(0);
      expect(ended).toEqual({ cause: 'notify-terminated', reason: 'noresource', retryAfter: undefined });
      expect(subscription.phase).toBe('terminated');
      expect((await sipp.done).code).toBe(0);
      const subscribe = sipp.messages().find((m) => m.method === 'SUBSCRIBE')!;
      expect(subscribe.text).toMatch(/^Event: presence\r?$/m);
      expect(subscribe.text).toMatch(/^Expires: 600\r?$/m);
      expect(subscribe.text).toMatch(new RegExp(`^Contact: <sip:${AGENT_HOST}:\\d+;transport=${transport}>`, 'm'));
    });
  }
});

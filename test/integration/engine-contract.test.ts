/**
 * One contract for the SipEngine port (src/sip/port.ts), run against every engine with the same real
 * peers: Kamailio (registrar, presence server, MESSAGE proxy; docker/kamailio/kamailio.cfg) and SIPp UAs.
 *
 * - embedded: always (the agent on 127.0.0.2, Kamailio on 127.0.0.1);
 * - drachtio: when DRACHTIO_HOST / DRACHTIO_PORT / DRACHTIO_SECRET point at a running drachtio-server
 *   (inbound mode). Requests leave drachtio-server through Kamailio as outbound proxy.
 *
 * Same assertions for both, except bodies: the embedded engine carries binary bytes exactly, the
 * drachtio engine refuses them with BODY_NOT_CARRIED (docs/interop.md: drachtio bodies are text).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createDrachtioEngine } from '../../src/sip/drachtio/drachtio-engine.js';
import { createEmbeddedEngine } from '../../src/sip/embedded/embedded-engine.js';
import { parseReginfo } from '../../src/registration/reginfo-parser.js';
import { notifyCseq } from '../../src/registration/reg-source.js';
import type { BoundAddress, NotifyEvent, SipEngine, SubscriptionEnded } from '../../src/sip/port.js';
import { useProcessCleanup } from '../support/cleanup.js';
import { waitUntil } from '../support/poll.js';
import { kamailioMissingReason, startKamailio, type KamailioHandle } from '../support/kamailio.js';
import { captureLoopback } from '../support/loopback-capture.js';
import { sippMissingReason } from '../support/sipp.js';
import { headerValue } from '../support/sipp-trace.js';
import { publishPresence, registerUser, startMessageUas } from '../support/sip-users.js';
import { requestCounter } from '../support/wire.js';

const peersMissing = kamailioMissingReason() ?? sippMissingReason();
if (peersMissing) console.warn(`engine-contract: every engine skipped, ${peersMissing}`);

const { DRACHTIO_HOST, DRACHTIO_PORT, DRACHTIO_SECRET } = process.env;
const drachtioMissing =
  peersMissing ??
  (DRACHTIO_HOST && DRACHTIO_PORT && DRACHTIO_SECRET
    ? undefined
    : 'DRACHTIO_HOST/DRACHTIO_PORT/DRACHTIO_SECRET are not set (no drachtio-server to test against)');
if (!peersMissing && drachtioMissing) console.warn(`engine-contract: drachtio engine skipped, ${drachtioMissing}`);

/** NUL, CR LF, 0xFF/0xFE, a lone continuation byte: nothing a UTF-8 text path keeps intact. */
const BINARY = Buffer.from([0x02, 0x05, 0x6a, 0x00, 0x45, 0xc6, 0x0d, 0x0a, 0xff, 0xfe, 0x0d, 0x0a, 0x0d, 0x0a, 0x80, 0x01]);
const TEXT = Buffer.from('push: grüße ✓ <si>text</si>', 'utf8');

interface EngineUnderContract {
  name: 'embedded' | 'drachtio';
  skip?: string;
  create(proxy: BoundAddress): SipEngine;
}

const engines: EngineUnderContract[] = [
  {
    name: 'embedded',
    create: (proxy) =>
      createEmbeddedEngine({
        listen: [
          { host: '127.0.0.2', port: 0, transport: 'udp' },
          { host: '127.0.0.2', port: 0, transport: 'tcp' },
        ],
        outboundProxy: proxy,
      }),
  },
  {
    name: 'drachtio',
    skip: drachtioMissing,
    create: (proxy) =>
      createDrachtioEngine({
        host: DRACHTIO_HOST ?? '127.0.0.1',
        port: Number(DRACHTIO_PORT ?? 9022),
        secret: DRACHTIO_SECRET ?? '',
        outboundProxy: proxy,
        reconnect: { baseMs: 200, maxMs: 2000 },
        startWaitMs: 5000,
      }),
  },
];

for (const spec of engines) {
  describe.skipIf(peersMissing !== undefined || spec.skip !== undefined)(`SipEngine contract: ${spec.name}`, () => {
    useProcessCleanup('each');
    let kamailio: KamailioHandle;
    let engine: SipEngine;
    let run = 0;
    const user = (prefix: string): string => `${prefix}-${spec.name}-${++run}`;
    const aor = (name: string): string => `sip:${name}@${kamailio.host}`;

    beforeAll(async () => {
      kamailio = await startKamailio();
    });
    afterAll(async () => {
      await kamailio?.stop();
    });
    afterEach(async () => {
      await engine?.stop();
    });

    async function startEngine(): Promise<SipEngine> {
      engine = spec.create({ host: kamailio.host, port: kamailio.port, transport: 'udp' });
      await engine.start();
      expect(engine.connected).toBe(true);
      return engine;
    }

    function message(to: string, body: Buffer, contentType = 'text/plain; charset=utf-8') {
      return { method: 'MESSAGE', requestUri: to, from: aor('push-agent'), contentType, body };
    }

    it('MESSAGE to a registered user: 200, text body byte-exact at the UA', async () => {
      const sip = await startEngine();
      const name = user('reg');
      const uas = await startMessageUas({ calls: 1, timeoutS: 20 });
      await registerUser(kamailio, { user: name, contactPort: uas.port });
      const response = await sip.request(message(aor(name), TEXT));
      expect(response.status).toBe(200);
      expect((await uas.done).code).toBe(0);
      const received = uas.messages().find((m) => m.method === 'MESSAGE');
      expect(received?.bodyBytes.equals(TEXT)).toBe(true);
    });

    it('MESSAGE to a known but unregistered user: 480; to an unknown user: 404', async () => {
      const sip = await startEngine();
      expect((await sip.request(message(aor(user('offline')), TEXT))).status).toBe(480);
      expect((await sip.request(message(aor(user('nobody')), TEXT))).status).toBe(404);
    });

    if (spec.name === 'embedded') {
      it('binary body: reaches the UA byte-exact', async () => {
        const sip = await startEngine();
        const name = user('bin');
        const uas = await startMessageUas({ calls: 1, timeoutS: 20 });
        await registerUser(kamailio, { user: name, contactPort: uas.port });
        // SIPp traces C strings (cut at NUL): the wire capture is the byte-exact check (test/support).
        const capture = await captureLoopback(uas.port);
        const response = await sip.request(message(aor(name), BINARY, 'application/vnd.wap.sic'));
        expect(response.status).toBe(200);
        expect((await uas.done).code).toBe(0);
        const received = uas.messages().find((m) => m.method === 'MESSAGE')!;
        expect(headerValue(received.text, 'Content-Length')).toBe(String(BINARY.length));
        if (capture) expect((await capture.stop()).includes(BINARY)).toBe(true);
      });
    } else {
      it('binary body: refused with BODY_NOT_CARRIED, nothing sent', async () => {
        const sip = await startEngine();
        const counter = await requestCounter(kamailio);
        await expect(sip.request(message(aor(user('bin')), BINARY, 'application/vnd.wap.sic'))).rejects.toMatchObject({
          code: 'BODY_NOT_CARRIED',
        });
        expect((await counter.delta()).message ?? 0).toBe(0);
      });
    }

    it('SUBSCRIBE to a user who published nothing: the initial NOTIFY is empty; refreshes before expiry on the wire', async () => {
      // A Kamailio of its own that grants at most 15 s, so the engine's automatic refresh comes quickly.
      const core = await startKamailio({ defines: { MAX_EXPIRES: '15' } });
      try {
        engine = spec.create({ host: core.host, port: core.port, transport: 'udp' });
        await engine.start();
        const notifies: NotifyEvent[] = [];
        const refreshed: number[] = [];
        const counter = await requestCounter(core);
        const subscription = await engine.subscribe(
          {
            resource: `sip:${user('silent')}@${core.host}`,
            from: aor('push-agent'),
            event: 'presence',
            accept: ['application/pidf+xml'],
            expires: 120,
          },
          { onNotify: (n) => notifies.push(n), onEnded: () => undefined, onRefreshed: (s) => refreshed.push(s) },
        );
        expect(await waitUntil(() => notifies.length > 0, 10_000)).toBe(true);
        expect(notifies[0].body.length).toBe(0); // RFC 6665: no state published now
        expect(notifies[0].subscriptionState.state).toBe('active');
        // Granted 15 s: the refresh goes out before expiry, by itself.
        expect(await waitUntil(() => (engine.stats().requestsSent.SUBSCRIBE ?? 0) >= 2, 16_000)).toBe(true);
        expect(await waitUntil(() => notifies.length >= 2, 5_000)).toBe(true);
        expect((await counter.delta()).subscribe).toBeGreaterThanOrEqual(2);
        expect(subscription.phase).toBe('active');
        await subscription.unsubscribe();
      } finally {
        await engine.stop();
        await core.stop();
      }
    }, 40_000);

    it('SUBSCRIBE to a published user: NOTIFY with the PIDF; unsubscribe (Expires: 0) on the wire', async () => {
      const sip = await startEngine();
      const name = user('pres');
      await publishPresence(kamailio, { user: name, basic: 'open' });
      const notifies: NotifyEvent[] = [];
      const ended: SubscriptionEnded[] = [];
      const subscription = await sip.subscribe(
        { resource: aor(name), from: aor('push-agent'), event: 'presence', accept: ['application/pidf+xml'], expires: 120 },
        { onNotify: (n) => notifies.push(n), onEnded: (e) => ended.push(e) },
      );
      expect(await waitUntil(() => notifies.some((n) => n.body.length > 0), 10_000)).toBe(true);
      const pidf = notifies.find((n) => n.body.length > 0)!;
      expect(pidf.contentType).toMatch(/application\/pidf\+xml/);
      expect(pidf.body.toString('utf8')).toMatch(/<basic>open<\/basic>/);
      expect(pidf.subscriptionState.state).toBe('active');
      expect(subscription.phase).toBe('active');

      const counter = await requestCounter(kamailio);
      const sentBefore = sip.stats().requestsSent.SUBSCRIBE ?? 0;
      await subscription.unsubscribe();
      expect(await waitUntil(() => ended.length > 0, 40_000)).toBe(true);
      expect(ended).toEqual([expect.objectContaining({ cause: 'unsubscribed' })]);
      // One unsubscribe transaction from the engine; Kamailio counts datagrams (a retransmission may add one).
      expect((sip.stats().requestsSent.SUBSCRIBE ?? 0) - sentBefore).toBe(1);
      expect((await counter.delta()).subscribe).toBeGreaterThanOrEqual(1);
      expect(notifies.at(-1)?.subscriptionState.state).toBe('terminated');
      expect(subscription.phase).toBe('terminated');
    });

    it('SUBSCRIBE Event: reg (RFC 3680): a REGISTER brings a reginfo NOTIFY with the contact, parsed as registered', async () => {
      const sip = await startEngine();
      const name = user('reg');
      const notifies: NotifyEvent[] = [];
      const subscription = await sip.subscribe(
        { resource: aor(name), from: aor('push-agent'), event: 'reg', accept: ['application/reginfo+xml'], expires: 120 },
        { onNotify: (n) => notifies.push(n), onEnded: () => undefined },
      );
      await registerUser(kamailio, { user: name, contactPort: 5999 });
      expect(await waitUntil(() => notifies.some((n) => n.body.length > 0), 10_000)).toBe(true);
      const reginfo = notifies.find((n) => n.body.length > 0)!;
      expect(reginfo.contentType).toMatch(/application\/reginfo\+xml/);
      const parsed = parseReginfo(reginfo.body, reginfo.contentType);
      expect(parsed.kind === 'document' && parsed.registrations[0]).toMatchObject({
        aor: aor(name),
        state: 'active',
        contacts: [expect.objectContaining({ state: 'active', uri: `sip:${name}@127.0.0.1:5999` })],
      });
      expect(notifyCseq(reginfo)).toBeGreaterThan(0);
      await subscription.unsubscribe();
    });
  });
}

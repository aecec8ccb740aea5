/**
 * Cluster mode with the drachtio engine: several agents share ONE drachtio-server (each connects to its
 * control port in inbound mode, as an application). What must hold for that to work:
 * - a subscription's NOTIFYs reach the agent that created the dialog, never another one (drachtio-server
 *   routes in-dialog requests to the connection that owns the dialog);
 * - each agent's own requests (MESSAGE) are answered to that agent;
 * - when one agent goes away, the others' dialogs and requests are untouched.
 *
 * Runs when DRACHTIO_HOST / DRACHTIO_PORT / DRACHTIO_SECRET point at a running drachtio-server (inbound
 * mode), with the real Kamailio as outbound proxy and SIPp UAs; skipped with the reason otherwise.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDrachtioEngine } from '../../src/sip/drachtio/drachtio-engine.js';
import type { BoundAddress, NotifyEvent, SipEngine, SipSubscription } from '../../src/sip/port.js';
import { useProcessCleanup } from '../support/cleanup.js';
import { kamailioMissingReason, startKamailio, type KamailioHandle } from '../support/kamailio.js';
import { waitUntil } from '../support/poll.js';
import { publishPresence, registerUser, startMessageUas } from '../support/sip-users.js';
import { sippMissingReason } from '../support/sipp.js';

const { DRACHTIO_HOST, DRACHTIO_PORT, DRACHTIO_SECRET } = process.env;
const missing =
  kamailioMissingReason() ??
  sippMissingReason() ??
  (DRACHTIO_HOST && DRACHTIO_PORT && DRACHTIO_SECRET
    ? undefined
    : 'DRACHTIO_HOST/DRACHTIO_PORT/DRACHTIO_SECRET are not set (no drachtio-server to test against)');
if (missing) console.warn(`drachtio shared by several agents: skipped, ${missing}`);

function drachtioEngine(proxy: BoundAddress): SipEngine {
  return createDrachtioEngine({
    host: DRACHTIO_HOST ?? '127.0.0.1',
    port: Number(DRACHTIO_PORT ?? 9022),
    secret: DRACHTIO_SECRET ?? '',
    outboundProxy: proxy,
    reconnect: { baseMs: 200, maxMs: 2000 },
    startWaitMs: 5000,
  });
}

describe.skipIf(missing !== undefined)('drachtio: one drachtio-server shared by several agents', () => {
  useProcessCleanup('all');
  let kamailio: KamailioHandle;
  const engines: SipEngine[] = [];
  const aor = (name: string): string => `sip:${name}@${kamailio.host}`;

  beforeAll(async () => {
    kamailio = await startKamailio();
  });
  afterAll(async () => {
    for (const engine of engines) await engine.stop().catch(() => undefined);
    await kamailio?.stop();
  });

  async function agent(): Promise<SipEngine> {
    const engine = drachtioEngine({ host: kamailio.host, port: kamailio.port, transport: 'udp' });
    engines.push(engine);
    await engine.start();
    expect(engine.connected).toBe(true);
    return engine;
  }

  async function watch(engine: SipEngine, user: string, seen: NotifyEvent[]): Promise<SipSubscription> {
    return engine.subscribe(
      { resource: aor(user), from: aor('push-agent'), event: 'presence', accept: ['application/pidf+xml'], expires: 300 },
      { onNotify: (n) => seen.push(n), onEnded: () => undefined },
    );
  }

  /** Every `<basic>` of every NOTIFY (Kamailio aggregates a user's publications: one tuple each). */
  const basics = (seen: NotifyEvent[]): string[] =>
    seen.flatMap((n) => [...n.body.toString('utf8').matchAll(/<basic>(\w+)<\/basic>/g)].map((m) => m[1] as string));

  it('each agent gets only its own NOTIFYs and answers; one agent leaving leaves the others working', async () => {
    const run = Date.now().toString(36);
    const [a, b] = [await agent(), await agent()];
    const [userA, userB] = [`shared-a-${run}`, `shared-b-${run}`];
    await publishPresence(kamailio, { user: userA, basic: 'open' });
    await publishPresence(kamailio, { user: userB, basic: 'open' });

    const seenA: NotifyEvent[] = [];
    const seenB: NotifyEvent[] = [];
    await watch(a, userA, seenA);
    const subB = await watch(b, userB, seenB);
    expect(await waitUntil(() => basics(seenA).includes('open') && basics(seenB).includes('open'), 10_000)).toBe(true);

    // A new publication of user A reaches agent A only (in-dialog NOTIFY routed to the dialog's owner).
    // Kamailio re-notifies every watcher of the presentity on each PUBLISH.
    const [aBefore, bBefore] = [seenA.length, seenB.length];
    await publishPresence(kamailio, { user: userA, basic: 'open' });
    expect(await waitUntil(() => seenA.length > aBefore, 10_000)).toBe(true);
    expect(seenB.length).toBe(bBefore);
    expect(seenA.every((n) => n.body.length === 0 || n.body.toString('utf8').includes(userA))).toBe(true);

    // Both agents' MESSAGEs are answered to them (two registered UAs, one MESSAGE each).
    const uas = await startMessageUas({ calls: 2, timeoutS: 30 });
    await registerUser(kamailio, { user: `shared-ua-${run}`, contactPort: uas.port });
    const message = (from: SipEngine) =>
      from.request({
        method: 'MESSAGE',
        requestUri: aor(`shared-ua-${run}`),
        from: aor('push-agent'),
        contentType: 'text/plain',
        body: Buffer.from('hello'),
      });
    const [resA, resB] = await Promise.all([message(a), message(b)]);
    expect([resA.status, resB.status]).toEqual([200, 200]);

    // Agent A goes away (its control connection closes): agent B's dialog and requests are untouched.
    await a.stop();
    const bNow = seenB.length;
    await publishPresence(kamailio, { user: userB, basic: 'open' });
    expect(await waitUntil(() => seenB.length > bNow, 10_000)).toBe(true);
    expect(subB.phase).toBe('active');
    const uas2 = await startMessageUas({ calls: 1, timeoutS: 30 });
    await registerUser(kamailio, { user: `shared-ub-${run}`, contactPort: uas2.port });
    const after = await b.request({
      method: 'MESSAGE',
      requestUri: aor(`shared-ub-${run}`),
      from: aor('push-agent'),
      contentType: 'text/plain',
      body: Buffer.from('still here'),
    });
    expect(after.status).toBe(200);
    await subB.unsubscribe();
  }, 90_000);
});

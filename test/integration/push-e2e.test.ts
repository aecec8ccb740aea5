/**
 * The push path end to end (PAP intake → presence decision → SIP MESSAGE → outcome), with a real
 * Kamailio (registrar + presence + proxy), real SIPp UAs and publishers, the real agent (embedded
 * engine, SQLite store, HTTP intake) and a PPG stand-in recording hand-backs and notifications.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMultipartRelated } from '../../src/push/pap/multipart.js';
import { useProcessCleanup } from '../support/cleanup.js';
import { waitFor } from '../support/poll.js';
import { kamailioMissingReason, startKamailio, type KamailioHandle } from '../support/kamailio.js';
import { sippMissingReason } from '../support/sipp.js';
import { headerValue } from '../support/sipp-trace.js';
import { publishPresence, registerUser, startMessageUas } from '../support/sip-users.js';
import { requestCounts } from '../support/wire.js';
import { captureLoopback } from '../support/loopback-capture.js';
import { papControl, papPush, postPap, startAgentUnderTest, userAddress, type AgentUnderTest } from '../support/agent-under-test.js';

const missing = kamailioMissingReason() ?? sippMissingReason();
if (missing) console.warn(`push-e2e.test.ts skipped: ${missing}`);

/** WBXML-like content with NUL, CR LF, '--' and 0xFF bytes: must arrive byte-exact. */
const BINARY = Buffer.from([0x02, 0x05, 0x6a, 0x00, 0x45, 0xc6, 0x0d, 0x0a, 0x2d, 0x2d, 0xff, 0x0d, 0x0a, 0x0d, 0x0a, 0x01, 0xff, 0x00]);

function papCode(xml: string): number | undefined {
  const match = /code="(\d+)"/.exec(xml);
  return match ? Number(match[1]) : undefined;
}

function messageState(xml: string): string | undefined {
  return /message-state="([a-z-]+)"/.exec(xml)?.[1];
}

describe.skipIf(missing !== undefined)('push path end to end with real Kamailio and SIPp', () => {
  useProcessCleanup('all');
  let kamailio: KamailioHandle;
  let sut: AgentUnderTest;

  beforeAll(async () => {
    kamailio = await startKamailio();
    sut = await startAgentUnderTest(kamailio);
    console.log(`push-e2e: kamailio ${kamailio.version} pid ${kamailio.pid} on ${kamailio.host}:${kamailio.port}; agent PAP ${sut.papUrl}`);
  });
  afterAll(async () => {
    await sut?.stop();
    await kamailio?.stop();
  });

  it('delivers to a reachable user: exact headers, binary body byte-exact, PI notified "delivered"', async () => {
    const uas = await startMessageUas({ calls: 1, timeoutS: 30 });
    await registerUser(kamailio, { user: 'e2e-alice', contactPort: uas.port });
    await publishPresence(kamailio, { user: 'e2e-alice', basic: 'open' });
    const aor = `sip:e2e-alice@${kamailio.host}`;
    const capture = await captureLoopback(uas.port);
    const response = await postPap(
      sut.papUrl,
      papPush({ pushId: 'e2e-1', address: userAddress(aor), content: BINARY, notifyTo: sut.ppg.url('/notify') }),
    );
    expect(response.status).toBe(202);
    expect(papCode(response.text)).toBe(1001);

    const note = await sut.ppg.waitFor((p) => p.path === '/notify' && p.body.includes('e2e-1'));
    expect(messageState(note.body.toString())).toBe('delivered');
    expect((await uas.done).code).toBe(0);
    const [message] = uas.messages().filter((m) => m.method === 'MESSAGE');
    expect(message).toBeDefined();
    // SIPp's trace stops at the first NUL: the byte-exact check reads the wire (Kamailio → UAS leg).
    if (capture) expect((await capture.stop()).includes(BINARY)).toBe(true);
    else console.warn('push-e2e: no tcpdump, body checked by Content-Length only');
    expect(headerValue(message.text, 'Content-Length')).toBe(String(BINARY.length));
    expect(headerValue(message.text, 'Content-Type')).toBe('application/vnd.wap.sic');
    expect(headerValue(message.text, 'Accept-Contact')).toBe('*;+g.oma.pusheventapp="wml.ua"');
    expect(headerValue(message.text, 'P-Asserted-Identity')).toBe(`<${sut.profile.identity.uri}>`);
    expect(headerValue(message.text, 'Contact')).toBeUndefined();
    expect(message.startLine).toMatch(/^MESSAGE sip:e2e-alice@/);
    expect(sut.agent.store.get('e2e-1')?.state).toBe('delivered');

    const status = await postPap(sut.papUrl, papControl('statusquery-message', 'e2e-1'));
    expect(messageState(status.text)).toBe('delivered');
  });

  it('sends a push over 1300 bytes to the core over TCP (RFC 3428 §9), delivered byte-exact', async () => {
    const uas = await startMessageUas({ calls: 1, timeoutS: 30 });
    await registerUser(kamailio, { user: 'e2e-large', contactPort: uas.port });
    await publishPresence(kamailio, { user: 'e2e-large', basic: 'open' });
    const large = Buffer.from('L'.repeat(2000));
    const tcpBefore = (await kamailio.stats())['tcp:passive_open'] ?? 0;
    const response = await postPap(
      sut.papUrl,
      papPush({ pushId: 'e2e-large', address: userAddress(`sip:e2e-large@${kamailio.host}`), content: large, contentType: 'text/plain' }),
    );
    expect(papCode(response.text)).toBe(1001);
    await waitFor(() => sut.agent.store.get('e2e-large')?.state === 'delivered', 'delivered', 10_000);
    expect(((await kamailio.stats())['tcp:passive_open'] ?? 0) - tcpBefore).toBeGreaterThanOrEqual(1);
    expect((await uas.done).code).toBe(0);
    const [message] = uas.messages().filter((m) => m.method === 'MESSAGE');
    expect(message?.bodyBytes.equals(large)).toBe(true);
  });

  it('hands back a user whose presence is closed with 3010 and the hint, and sends no SIP request for it', async () => {
    await publishPresence(kamailio, { user: 'e2e-closed', bare: true });
    const aor = `sip:e2e-closed@${kamailio.host}`;
    // Know the client first (the subscription is the presence step, not part of the push).
    const known = await sut.agent.oracle.decide(aor);
    expect(known.reachability).toBe('unreachable');

    // What this push spends: MESSAGEs at the core, and every request the agent sends but its core-health
    // OPTIONS (a probe on its own clock, not part of the push). Counting every method at the core instead
    // let an unrelated retransmission (a SIPp PUBLISH on a loaded machine) into the window.
    const sentByAgent = () => {
      const { OPTIONS: _probe, ...sent } = sut.agent.engine.stats().requestsSent;
      return Object.values(sent).reduce((sum, n) => sum + (n ?? 0), 0);
    };
    const before = await requestCounts(kamailio);
    const agentBefore = sentByAgent();
    const response = await postPap(
      sut.papUrl,
      papPush({ pushId: 'e2e-2', address: userAddress(aor), content: Buffer.from('hello'), progressNotes: true }),
    );
    const after = await requestCounts(kamailio);
    expect(sentByAgent() - agentBefore).toBe(0);
    expect(response.status).toBe(200);
    expect(papCode(response.text.replace(/<progress-note[^>]*>/, ''))).toBe(3010);
    expect(response.headers.get('x-push-bearer-hint')).toBe('SMS');
    expect(response.text).toContain('bearer hint: SMS');
    expect(response.text).toContain('<progress-note');
    expect((after.message ?? 0) - (before.message ?? 0)).toBe(0);
    expect(sut.agent.store.get('e2e-2')).toBeUndefined();
  });

  it('hands a push back to the PPG, byte-exact, when the UA answers 480, and the table learns it', async () => {
    const uas = await startMessageUas({ answer: 480, calls: 1, timeoutS: 30 });
    await registerUser(kamailio, { user: 'e2e-bob', contactPort: uas.port });
    await publishPresence(kamailio, { user: 'e2e-bob', basic: 'open' });
    const aor = `sip:e2e-bob@${kamailio.host}`;
    const response = await postPap(sut.papUrl, papPush({ pushId: 'e2e-3', address: userAddress(aor), content: BINARY }));
    expect(papCode(response.text)).toBe(1001);

    const handBack = await sut.ppg.waitFor((p) => p.path === '/handback' && p.body.includes('e2e-3'));
    const parts = parseMultipartRelated(String(handBack.headers['content-type']), handBack.body);
    const control = parts.parts[0]?.body.toString() ?? '';
    expect(control).toContain('push-id="e2e-3"');
    expect(control).toContain('bearer="SMS"');
    expect(parts.parts[1]?.body.equals(BINARY)).toBe(true);
    // The hint travels in the PAP quality-of-service only: no push-level HTTP header a PPG could copy over the air.
    expect(handBack.headers['x-push-bearer-hint']).toBeUndefined();
    expect(sut.agent.pushes.handBackCounts()).toContainEqual({ hint: 'SMS', mode: 'async', count: 1 });

    expect((await sut.agent.oracle.decide(aor)).reachability).toBe('unreachable');
    await waitFor(() => sut.agent.store.get('e2e-3')?.state === 'handed-back', 'handed-back', 5000);
    const status = await postPap(sut.papUrl, papControl('statusquery-message', 'e2e-3'));
    // The PPG took it back and owns the outcome: the agent does not claim "undeliverable".
    expect(messageState(status.text)).toBe('unknown');
  });

  it('answers a duplicate push-id with 2007 and malformed PAP with badmessage-response 2000, and keeps serving', async () => {
    const aor = `sip:e2e-carol@${kamailio.host}`;
    const push = papPush({ pushId: 'e2e-4', address: userAddress(aor), content: Buffer.from('x'), deliverAfter: '2099-01-01T00:00:00Z' });
    expect(papCode((await postPap(sut.papUrl, push)).text)).toBe(1001);
    expect(papCode((await postPap(sut.papUrl, push)).text)).toBe(2007);

    const bad = await postPap(sut.papUrl, { contentType: 'application/xml', body: Buffer.from('<pap><push-message') });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('badmessage-response');
    expect(papCode(bad.text)).toBe(2000);

    const status = await postPap(sut.papUrl, papControl('statusquery-message', 'e2e-4'));
    expect(messageState(status.text)).toBe('pending');
  });

  it('cancels a push before delivery; a second cancel is 2008; unknown push-id is 2004', async () => {
    const aor = `sip:e2e-dave@${kamailio.host}`;
    const push = papPush({ pushId: 'e2e-5', address: userAddress(aor), content: Buffer.from('x'), deliverAfter: '2099-01-01T00:00:00Z' });
    expect(papCode((await postPap(sut.papUrl, push)).text)).toBe(1001);
    expect(papCode((await postPap(sut.papUrl, papControl('cancel-message', 'e2e-5'))).text)).toBe(1000);
    expect(messageState((await postPap(sut.papUrl, papControl('statusquery-message', 'e2e-5'))).text)).toBe('cancelled');
    expect(papCode((await postPap(sut.papUrl, papControl('cancel-message', 'e2e-5'))).text)).toBe(2008);
    expect(papCode((await postPap(sut.papUrl, papControl('statusquery-message', 'no-such-push'))).text)).toBe(2004);
  });

  it('refuses a push whose deliver-before is already past at intake (2000 naming the field): nothing stored, nothing sent', async () => {
    const aor = `sip:e2e-erin@${kamailio.host}`;
    const sentBefore = sut.agent.pushes.counters.messagesSent;
    const push = papPush({
      pushId: 'e2e-6',
      address: userAddress(aor),
      content: Buffer.from('late'),
      deliverBefore: '2001-01-01T00:00:00Z',
      notifyTo: sut.ppg.url('/notify'),
    });
    const response = await postPap(sut.papUrl, push);
    expect(papCode(response.text)).toBe(2000);
    expect(response.text).toContain('deliver-before-timestamp');
    expect(sut.agent.store.get('e2e-6')).toBeUndefined();
    expect(sut.agent.pushes.counters.messagesSent).toBe(sentBefore);
    expect((await postPap(sut.papUrl, papControl('statusquery-message', 'e2e-6'))).text).toContain('code="2004"');
  });

  it('hands back at once when the PI requires a bearer other than SIP', async () => {
    const aor = `sip:e2e-frank@${kamailio.host}`;
    const response = await postPap(
      sut.papUrl,
      papPush({ pushId: 'e2e-7', address: userAddress(aor), content: Buffer.from('x'), bearer: 'SMS', bearerRequired: true }),
    );
    expect(papCode(response.text)).toBe(3010);
    expect(response.headers.get('x-push-bearer-hint')).toBe('SMS');
  });
});

/**
 * Self-test of the real-component harness: real Kamailio (docker/kamailio/kamailio.cfg) and real SIPp
 * processes on loopback. Proves start/stop/restart, REGISTER, PUBLISH, MESSAGE relay with the body
 * intact, 480 (known user, not registered) versus 404 (unknown user), and per-method request counts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useProcessCleanup, groupAlive } from '../support/cleanup.js';
import { kamailioMissingReason, startKamailio, type KamailioHandle } from '../support/kamailio.js';
import { runSipp, sippMissingReason, sippVersion } from '../support/sipp.js';
import { freePort } from '../support/ports.js';
import { requestCounter, optionsPing } from '../support/wire.js';
import { publishPresence, registerUser, sendMessage, startMessageUas } from '../support/sip-users.js';
import { headerValue } from '../support/sipp-trace.js';

const missing = kamailioMissingReason() ?? sippMissingReason();
if (missing) console.warn(`harness.test.ts skipped: ${missing}`);

describe.skipIf(missing !== undefined)('test harness with real Kamailio and SIPp', () => {
  useProcessCleanup(); // per test: UAS/UAC processes; the shared Kamailio lives until afterAll
  let kamailio: KamailioHandle;

  beforeAll(async () => {
    kamailio = await startKamailio();
    console.log(`kamailio: ${kamailio.version}, pid ${kamailio.pid}, ${kamailio.host}:${kamailio.port}`);
    console.log(`sipp: ${sippVersion()}`);
  });
  afterAll(async () => kamailio?.stop());

  it('starts a Kamailio that answers OPTIONS on UDP and TCP and stops it with its pid gone', async () => {
    const own = await startKamailio();
    const pid = own.pid;
    console.log(`second kamailio pid ${pid} on port ${own.port}`);
    expect(await optionsPing(own.host, own.port, 'udp')).toBe(200);
    expect(await optionsPing(own.host, own.port, 'tcp')).toBe(200);
    await own.stop();
    expect(groupAlive(pid)).toBe(false);
    expect(await optionsPing(own.host, own.port, 'udp', 300)).toBeUndefined();
  });

  it('registers a user with SIPp and Kamailio holds the binding', async () => {
    const contactPort = await freePort();
    const { handle } = await registerUser(kamailio, { user: 'reg-alice', contactPort, expires: 300 });
    console.log(`sipp register pid ${handle.pid}`);
    const ok = handle.messages().find((m) => m.status === 200);
    expect(headerValue(ok?.text ?? '', 'Contact')).toContain(`:${contactPort}`);
    expect(await kamailio.rpc('ul.lookup', 'location', 'reg-alice')).toContain(`127.0.0.1:${contactPort}`);
  });

  it('relays a SIPp UAC MESSAGE to the registered SIPp UAS with the body intact', async () => {
    const uas = await startMessageUas({ calls: 1, timeoutS: 20 });
    await registerUser(kamailio, { user: 'msg-bob', contactPort: uas.port });
    const counter = await requestCounter(kamailio);
    const body = 'push #1: ü ∑ <payload/>';
    const sent = await sendMessage(kamailio, { user: 'msg-bob', body });
    console.log(`sipp uas pid ${uas.pid}, uac pid ${sent.handle.pid}`);
    expect(sent.status).toBe(200);
    expect(sent.result.code).toBe(0);
    expect((await uas.done).code).toBe(0);
    const got = uas.messages().filter((m) => m.method === 'MESSAGE');
    expect(got).toHaveLength(1);
    expect(got[0].body).toBe(`${body}\r\n`); // SIPp ends the scenario body with CRLF
    expect(headerValue(got[0].text, 'Content-Type')).toBe('text/plain');
    expect((await counter.delta()).message).toBe(1);
  });

  it('relays over TCP on both legs (Contact ;transport=tcp)', async () => {
    const uas = await startMessageUas({ calls: 1, timeoutS: 20, transport: 't1' });
    await registerUser(kamailio, { user: 'tcp-carol', contactPort: uas.port, contactTransport: 'tcp' });
    const sent = await sendMessage(kamailio, { user: 'tcp-carol', body: 'over tcp', transport: 't1' });
    expect(sent.status).toBe(200);
    const got = uas.messages().filter((m) => m.method === 'MESSAGE');
    expect(got[0]?.transport).toBe('TCP');
    expect(got[0]?.body).toBe('over tcp\r\n');
  });

  it('takes the known-user regex from the start options', async () => {
    const own = await startKamailio({ knownUserRegex: '^\\+?[0-9]+$' });
    expect((await sendMessage(own, { user: '+4915112345', body: 'x', expect: 'any' })).status).toBe(480);
    expect((await sendMessage(own, { user: 'known-x', body: 'x', expect: 'any' })).status).toBe(404);
    await own.stop();
  });

  it('answers 480 for a known user without a binding and 404 for an unknown user', async () => {
    // Known by having registered once, then un-registered.
    const contactPort = await freePort();
    await registerUser(kamailio, { user: 'gone-dave', contactPort });
    await registerUser(kamailio, { user: 'gone-dave', contactPort, expires: 0 });
    expect((await sendMessage(kamailio, { user: 'gone-dave', body: 'x', expect: 'any' })).status).toBe(480);
    // Known by KNOWN_USER_REGEX (default ^(known|offline)-), never seen.
    expect((await sendMessage(kamailio, { user: 'offline-erin', body: 'x', expect: 'any' })).status).toBe(480);
    expect((await sendMessage(kamailio, { user: 'nobody-frank', body: 'x', expect: 'any' })).status).toBe(404);
    // uac-message.xml (200 only) fails the call on a 404.
    const strict = await sendMessage(kamailio, { user: 'nobody-frank', body: 'x' });
    expect(strict.result.code).not.toBe(0);
  });

  it('relays a UAS 480 and survives a lost first copy (answer to the UDP retransmission)', async () => {
    const busy = await startMessageUas({ answer: 480, calls: 1, timeoutS: 20 });
    await registerUser(kamailio, { user: 'busy-gina', contactPort: busy.port });
    expect((await sendMessage(kamailio, { user: 'busy-gina', body: 'x', expect: 'any' })).status).toBe(480);

    const lossy = await startMessageUas({ answer: 'drop-first', calls: 1, timeoutS: 20 });
    await registerUser(kamailio, { user: 'lossy-hank', contactPort: lossy.port });
    expect((await sendMessage(kamailio, { user: 'lossy-hank', body: 'again' })).status).toBe(200);
    expect(lossy.messages().filter((m) => m.method === 'MESSAGE')).toHaveLength(2);
  });

  it('accepts PUBLISH (open with OMA service-description, and closed) and counts it', async () => {
    const counter = await requestCounter(kamailio);
    const open = await publishPresence(kamailio, { user: 'pub-ivy', expires: 60 });
    await publishPresence(kamailio, { user: 'pub-jack', bare: true, expires: 60 });
    const sent = open.handle.messages().find((m) => m.method === 'PUBLISH');
    expect(sent?.body).toContain('<op:service-id>org.openmobilealliance:Push</op:service-id>');
    expect(sent?.body).toContain('<caps:MESSAGE/>');
    expect(open.handle.messages().find((m) => m.direction === 'received')?.status).toBe(200);
    const delta = await counter.delta();
    expect(delta.publish).toBe(2);
    expect(delta.message).toBe(0);
    expect(delta.subscribe).toBe(0);
    // A user who only published is "known": MESSAGE without a binding → 480.
    expect((await sendMessage(kamailio, { user: 'pub-ivy', body: 'x', expect: 'any' })).status).toBe(480);
  });

  it('serves SUBSCRIBE for presence: the NOTIFY carries the published PIDF', async () => {
    await publishPresence(kamailio, { user: 'watched-lea', expires: 60 });
    const watcher = await runSipp({
      scenario: 'test/sipp/subscribe.xml',
      remote: `${kamailio.host}:${kamailio.port}`,
      calls: 1,
      timeoutS: 10,
      keys: { user: 'watched-lea', domain: kamailio.host, expires: '60' },
    });
    expect((await watcher.done).code).toBe(0);
    const notify = watcher.messages().find((m) => m.method === 'NOTIFY');
    expect(headerValue(notify?.text ?? '', 'Subscription-State')).toMatch(/^active/);
    expect(notify?.body).toContain('<op:service-id>org.openmobilealliance:Push</op:service-id>');
    expect(notify?.body).toContain('<basic>open</basic>');
  });

  it('restarts on the same port with a new pid and forgets the bindings', async () => {
    const own = await startKamailio();
    await registerUser(own, { user: 'restart-kim', contactPort: await freePort() });
    const before = own.pid;
    await own.restart();
    console.log(`restarted kamailio: pid ${before} -> ${own.pid}`);
    expect(own.pid).not.toBe(before);
    expect(groupAlive(before)).toBe(false);
    expect(await optionsPing(own.host, own.port, 'udp')).toBe(200);
    expect((await own.stats())['core:rcv_requests_register']).toBe(0);
    await own.stop();
  });
});

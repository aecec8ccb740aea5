/**
 * Hand-backs a PAP 1.0-era SMS PPG can act on, end to end: real Kamailio, a SIPp UA answering 480, the
 * real agent, and a strict PAP 1.0 PPG stand-in (test/support/pap-ppg.ts) that answers every PAP
 * result — refusals included — with HTTP 202. A PI's notify endpoint is a second stand-in on its own
 * port. Each rule: the PAP answer decides, valid PAP 1.0, an SMS-routable address, minimal headers,
 * one notification per push from the party that owns the outcome, the give-up rule, nothing lost.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentConfigInput } from '../../src/config/config-schema.js';
import { buildMultipartRelated } from '../../src/push/pap/multipart.js';
import { papPush, postPap, startAgentUnderTest, userAddress, type AgentUnderTest } from '../support/agent-under-test.js';
import { useProcessCleanup } from '../support/cleanup.js';
import { kamailioMissingReason, startKamailio, type KamailioHandle } from '../support/kamailio.js';
import { Pap10Ppg } from '../support/pap-ppg.js';
import { waitFor } from '../support/poll.js';
import { sippMissingReason, type SippHandle } from '../support/sipp.js';
import { registerUser, startMessageUas } from '../support/sip-users.js';

const missing = kamailioMissingReason() ?? sippMissingReason();
if (missing) console.warn(`ppg-handback.test.ts skipped: ${missing}`);

const USERS = ['dave', 'carol', 'erin', 'frank', 'grace', 'heidi', 'ivan', 'judy'] as const;
const MSISDN: Record<string, string> = {
  dave: '+358401110001',
  erin: '+358401110003',
  frank: '+358401110004',
  grace: '+358401110005',
  heidi: '+358401110006',
  ivan: '+358401110007',
  judy: '+358401110008',
};

function attr(xml: string, name: string): string | undefined {
  return new RegExp(`\\b${name}="([^"]*)"`).exec(xml)?.[1];
}

/** A PAP 2.0 push as a PI in the field sent it: a required network beside a bearer that is not required. */
function inconsistentQosPush(pushId: string, address: string, notifyTo: string): { contentType: string; body: Buffer } {
  const control =
    '<?xml version="1.0"?>\n<!DOCTYPE pap PUBLIC "-//WAPFORUM//DTD PAP 2.0//EN" "http://www.wapforum.org/DTD/pap_2.0.dtd">\n' +
    `<pap><push-message push-id="${pushId}" ppg-notify-requested-to="${notifyTo}"><address address-value="${address}"/>` +
    '<quality-of-service network="GSM" network-required="true" bearer="SMS" bearer-required="false"/></push-message></pap>';
  return buildMultipartRelated([
    { headers: { 'Content-Type': 'application/xml' }, body: Buffer.from(control) },
    {
      headers: { 'Content-Type': 'text/vnd.wap.si', 'X-Wap-Application-Id': 'x-wap-application:wml.ua' },
      body: Buffer.from('<si><indication href="http://x/1">hi</indication></si>'),
    },
  ]);
}

describe.skipIf(missing !== undefined)('hand-backs a PAP 1.0 SMS PPG can act on', () => {
  useProcessCleanup('all');
  let kamailio: KamailioHandle;
  let uas: SippHandle;
  const ppg = new Pap10Ppg();
  const pi = new Pap10Ppg();
  const agents: AgentUnderTest[] = [];

  const agentWith = async (ppgConfig: NonNullable<AgentConfigInput['ppg']> = {}): Promise<AgentUnderTest> => {
    const sut = await startAgentUnderTest(kamailio, {
      config: {
        policy: 'always-sip',
        // The PI's notify endpoint is on its own port: allow it as a notification destination.
        intake: { notifyPrefixes: [pi.url('/')] },
        ppg: {
          handBackUrl: ppg.url('/pap'),
          backoff: { baseMs: 50, maxMs: 200 },
          giveUp: { maxAttempts: 3 },
          auth: { username: 'psa', password: 'ppg-secret-1' },
          msisdns: Object.fromEntries(Object.entries(MSISDN).map(([user, number]) => [`sip:${user}@${kamailio.host}`, number])),
          ...ppgConfig,
        },
      },
    });
    agents.push(sut);
    return sut;
  };

  const aor = (user: string) => `sip:${user}@${kamailio.host}`;
  const push = async (sut: AgentUnderTest, pushId: string, user: string): Promise<void> => {
    const res = await postPap(
      sut.papUrl,
      papPush({ pushId, address: userAddress(aor(user)), content: Buffer.from(`c-${pushId}`), notifyTo: pi.url('/notify') }),
    );
    expect(res.text).toContain('code="1001"');
  };
  const ended = (sut: AgentUnderTest, pushId: string) =>
    waitFor(
      () => sut.agent.store.backlog() === 0 && sut.agent.store.outbox.stats().pending === 0 && sut.agent.store.get(pushId) !== undefined,
      `${pushId} ended with nothing owed`,
      10_000,
    );
  const metrics = async (sut: AgentUnderTest): Promise<string> => (await fetch(`http://127.0.0.1:${sut.agent.http.port}/metrics`)).text();

  beforeAll(async () => {
    kamailio = await startKamailio();
    uas = await startMessageUas({ answer: 480, timeoutS: 120 });
    for (const user of USERS) await registerUser(kamailio, { user, contactPort: uas.port });
    await ppg.start();
    await pi.start();
  });
  afterAll(async () => {
    for (const sut of agents) await sut.stop();
    await ppg.stop();
    await pi.stop();
    await uas?.stop();
    await kamailio?.stop();
  });

  it('valid PAP 1.0 with consistent flags, TYPE=PLMN for SMS, minimal headers: the PPG accepts it (1001) and only then is it handed-back', async () => {
    const sut = await agentWith();
    const res = await postPap(sut.papUrl, inconsistentQosPush('hb-valid', userAddress(aor('dave')), pi.url('/notify')));
    expect(res.text).toContain('code="1001"');
    await ended(sut, 'hb-valid');
    const [handBack, ...more] = ppg.handBacks('hb-valid');
    expect(more).toEqual([]);
    expect(handBack?.refusal).toBeUndefined();
    expect(handBack?.answeredCode).toBe(1001);
    expect(handBack?.control).toContain('-//WAPFORUM//DTD PAP 1.0//EN');
    expect(attr(handBack?.control ?? '', 'address-value')).toBe('WAPPUSH=+358401110001/TYPE=PLMN');
    expect(handBack?.push?.qos).toMatchObject({ bearer: 'SMS', bearerRequired: false, networkRequired: false });
    // Deliberate headers only: no bearer-hint header, no client defaults (accept, sec-fetch-mode, …).
    expect(handBack?.rawHeaderNames.map((n) => n.toLowerCase()).sort()).toEqual([
      'authorization',
      'connection',
      'content-length',
      'content-type',
      'host',
      'user-agent',
    ]);
    expect(handBack?.headers['user-agent']).toMatch(/^sip-push-agent\/\d+\.\d+\.\d+/);
    expect(handBack?.headers.authorization).toBe(`Basic ${Buffer.from('psa:ppg-secret-1').toString('base64')}`);
    expect(sut.agent.store.get('hb-valid')).toMatchObject({ state: 'handed-back', papCode: 1001 });
  });

  it("a refusal inside HTTP 202 is a visible terminal state with its metric, and the PI hears the PPG's code", async () => {
    const sut = await agentWith();
    ppg.scriptedCodes.push(2001);
    await push(sut, 'hb-refused', 'erin');
    await ended(sut, 'hb-refused');
    expect(ppg.handBacks('hb-refused').map((p) => p.answeredCode)).toEqual([2001]);
    expect(sut.agent.store.get('hb-refused')).toMatchObject({ state: 'hand-back-refused', papCode: 2001 });
    expect(sut.agent.store.get('hb-refused')?.reason).toMatch(/PPG refused the hand-back: PAP 2001/);
    const notes = pi.notifications('hb-refused');
    expect(notes).toHaveLength(1);
    expect(attr(notes[0]?.control ?? '', 'message-state')).toBe('undeliverable');
    expect(attr(notes[0]?.control ?? '', 'code')).toBe('2001');
    expect(notes[0]?.headers.authorization).toBeUndefined(); // the PPG's credentials never go to a PI
    expect(await metrics(sut)).toMatch(/spa_outbox_outcomes_total\{kind="hand-back",outcome="refused"\} 1\b/);
  });

  it('no MSISDN for a SIP identity: no blind SMS hand-back; a clear reason, a metric, the PI told', async () => {
    const sut = await agentWith();
    await push(sut, 'hb-nomsisdn', 'carol');
    await ended(sut, 'hb-nomsisdn');
    expect(ppg.handBacks('hb-nomsisdn')).toEqual([]);
    expect(sut.agent.store.get('hb-nomsisdn')?.state).toBe('hand-back-refused');
    expect(sut.agent.store.get('hb-nomsisdn')?.reason).toMatch(/^no MSISDN for SMS hand-back/);
    const notes = pi.notifications('hb-nomsisdn');
    expect(notes).toHaveLength(1);
    expect(attr(notes[0]?.control ?? '', 'desc')).toMatch(/^no MSISDN for SMS hand-back/);
    expect(await metrics(sut)).toMatch(/spa_outbox_outcomes_total\{kind="hand-back",outcome="not-possible"\} 1\b/);
  });

  it('4001 is retried; the 1001 that follows acknowledges it', async () => {
    const sut = await agentWith();
    ppg.scriptedCodes.push(4001);
    await push(sut, 'hb-4001', 'frank');
    await ended(sut, 'hb-4001');
    expect(ppg.handBacks('hb-4001').map((p) => p.answeredCode)).toEqual([4001, 1001]);
    expect(sut.agent.store.get('hb-4001')?.state).toBe('handed-back');
  });

  it("a PPG that never notifies: exactly one notification, from the agent, saying what it knows (unknown, the PPG's 1001)", async () => {
    const sut = await agentWith();
    await push(sut, 'hb-owner-agent', 'grace');
    await ended(sut, 'hb-owner-agent');
    expect(attr(ppg.handBacks('hb-owner-agent')[0]?.control ?? '', 'ppg-notify-requested-to')).toBeUndefined();
    const notes = pi.notifications('hb-owner-agent');
    expect(notes).toHaveLength(1);
    expect(attr(notes[0]?.control ?? '', 'message-state')).toBe('unknown');
    expect(attr(notes[0]?.control ?? '', 'code')).toBe('1001');
    expect(attr(notes[0]?.control ?? '', 'desc')).toMatch(/Handed back to the PPG for bearer SMS/);
  });

  it("a PPG that notifies: the hand-back carries the PI's notify URL and the agent sends none", async () => {
    const sut = await agentWith({ sendsResultNotifications: true });
    await push(sut, 'hb-owner-ppg', 'heidi');
    await ended(sut, 'hb-owner-ppg');
    expect(attr(ppg.handBacks('hb-owner-ppg')[0]?.control ?? '', 'ppg-notify-requested-to')).toBe(pi.url('/notify'));
    expect(sut.agent.store.get('hb-owner-ppg')?.state).toBe('handed-back');
    expect(sut.agent.store.outbox.listForPush('hb-owner-ppg').map((item) => item.kind)).toEqual(['hand-back']);
    expect(pi.notifications('hb-owner-ppg')).toEqual([]);
  });

  it('give-up rule: a PPG that never acknowledges ends the push hand-back-abandoned, counted, the PI told (unknown 4000)', async () => {
    const sut = await agentWith();
    ppg.scriptedHttp.push(503, 503, 503);
    await push(sut, 'hb-giveup', 'ivan');
    await ended(sut, 'hb-giveup');
    expect(ppg.handBacks('hb-giveup')).toHaveLength(3);
    expect(sut.agent.store.get('hb-giveup')?.state).toBe('hand-back-abandoned');
    const notes = pi.notifications('hb-giveup');
    expect(notes).toHaveLength(1);
    expect(attr(notes[0]?.control ?? '', 'message-state')).toBe('unknown');
    expect(attr(notes[0]?.control ?? '', 'code')).toBe('4000');
    expect(await metrics(sut)).toMatch(/spa_outbox_outcomes_total\{kind="hand-back",outcome="gave-up"\} 1\b/);
    // Visible to the PI's status query as well.
    const status = await postPap(sut.papUrl, {
      contentType: 'application/xml',
      body: Buffer.from('<?xml version="1.0"?>\n<pap><statusquery-message push-id="hb-giveup"/></pap>'),
    });
    expect(attr(status.text, 'message-state')).toBe('unknown');
  });
});

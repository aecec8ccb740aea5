/**
 * Push-path logic with a stand-in engine and oracle (no sockets) over a real SQLite store: outcomes,
 * hand-back reasons, overload and resume. The wire behaviour is in test/integration/push-e2e.test.ts.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AgentError, ErrorCodes } from '../../src/errors.js';
import { silentLogger } from '../../src/lib/logger.js';
import { loadProfile } from '../../src/profiles/load-profile.js';
import type { SipProfile } from '../../src/profiles/schema.js';
import { PapEndpoint } from '../../src/intake/pap/pap-endpoint.js';
import { PushCore } from '../../src/push/push-core.js';
import type { PushCoreOptions } from '../../src/push/push-settings.js';
import { sqlitePushStorePort } from '../../src/push/store/sqlite/sqlite-push-store-port.js';
import type { DeliveryReport, ReachabilityOracle, ReachabilityVerdict } from '../../src/capabilities/reachability-oracle.js';
import { PushStore } from '../../src/push/store/sqlite/sqlite-push-store.js';
import { SipRequestError, type EngineCapabilities, type SipFinalResponse } from '../../src/sip/port.js';
import { papPush, userAddress } from '../support/agent-under-test.js';
import { eventually, waitFor } from '../support/poll.js';
import { answer200, type StubAnswer, stubEngine } from '../support/stub-engine.js';

class OracleStub implements ReachabilityOracle {
  reports: Array<{ aor: string; report: DeliveryReport }> = [];
  constructor(public verdict: ReachabilityVerdict) {}
  async decide(): Promise<ReachabilityVerdict> {
    return this.verdict;
  }
  recordDelivery(aor: string, report: DeliveryReport): void {
    this.reports.push({ aor, report });
  }
}

const REACHABLE: ReachabilityVerdict = { reachability: 'reachable', acceptedApps: 'any', bearerHint: 'SMS', reason: 'open' };
const profile = loadProfile('kamailio-lab');
const stores: PushStore[] = [];

interface SetupOptions {
  maxInFlight?: number;
  maxQueued?: number;
  maxScheduled?: number;
  store?: PushStore;
  capabilities?: EngineCapabilities;
  profile?: SipProfile;
  coreHealth?: { state: 'unknown' | 'up' | 'down'; downs: number };
}

/** The push core with its PAP edge in front, as the HTTP intake drives them. */
class PushService extends PapEndpoint {
  readonly pushCore: PushCore;
  constructor(options: Omit<PushCoreOptions, 'store'> & { store: PushStore }) {
    const core = new PushCore({ ...options, store: sqlitePushStorePort(options.store) });
    super(core, { senderName: options.senderName });
    this.pushCore = core;
  }
  get counters() {
    return this.pushCore.counters;
  }
  get scheduledCount() {
    return this.pushCore.scheduledCount;
  }
  /** The submissions cached for delivery (private to the delivery lane). */
  get submissions(): Map<string, unknown> {
    return (this.pushCore as unknown as { lane: { submissions: Map<string, unknown> } }).lane.submissions;
  }
  outboxOutcomeCounts() {
    return this.pushCore.outboxOutcomeCounts();
  }
  drain(timeoutMs: number) {
    return this.pushCore.drain(timeoutMs);
  }
  resume() {
    return this.pushCore.resume();
  }
}

function setup(answer: StubAnswer, options: SetupOptions = {}) {
  const store = options.store ?? PushStore.open(join(mkdtempSync(join(tmpdir(), 'spa-ps-')), 'p.sqlite'));
  stores.push(store);
  const engine = stubEngine(answer, options.capabilities);
  const oracle = new OracleStub(REACHABLE);
  const service = new PushService({
    store,
    engine,
    oracle,
    profile: options.profile ?? profile,
    logger: silentLogger(),
    handBackUrl: 'http://127.0.0.1:9/handback',
    policy: 'presence-aware',
    maxInFlight: options.maxInFlight ?? 10,
    maxQueued: options.maxQueued ?? 10,
    maxScheduled: options.maxScheduled,
    ...(options.coreHealth && { coreHealth: options.coreHealth }),
  });
  return { store, engine, oracle, service };
}

/** A phone-number address: its hand-back for SMS can be routed (TYPE=PLMN). */
const PLMN = 'WAPPUSH=+15551234567/TYPE=PLMN';

function push(id: string, content = Buffer.from('hello'), address = userAddress('sip:alice@127.0.0.1'), notifyTo?: string) {
  return papPush({ pushId: id, address, content, contentType: 'text/plain', ...(notifyTo ? { notifyTo } : {}) });
}

function pushWith(
  id: string,
  content = Buffer.from('hello'),
  extra: { deliverAfter?: string; deliverBefore?: string; contentType?: string; notifyTo?: string } = {},
) {
  return papPush({ pushId: id, address: userAddress('sip:alice@127.0.0.1'), content, contentType: 'text/plain', ...extra });
}

/** A PAP timestamp `ms` from now (whole seconds, as PAP writes them). */
function papTime(ms: number): string {
  return new Date(Date.now() + ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const OK = answer200;
const reportProfile: SipProfile = { ...profile, delivery: { whenUnconfirmed: 'report' } };

async function settle(service: PushService): Promise<void> {
  await service.drain(2000);
}

afterEach(() => {
  for (const store of stores.splice(0)) store.close();
});

describe('PushService outcomes', () => {
  it('2xx → delivered, and the table hears the 200', async () => {
    const { service, store, oracle } = setup(async () => ({ status: 200, reason: 'OK', headers: {}, body: Buffer.alloc(0) }));
    const { contentType, body } = push('p1');
    expect((await service.handlePap(contentType, body)).httpStatus).toBe(202);
    await settle(service);
    expect(store.get('p1')?.state).toBe('delivered');
    expect(oracle.reports).toEqual([{ aor: 'sip:alice@127.0.0.1', report: { status: 200, coreAlive: true } }]);
  });

  it('a transaction timeout → handing-back with the hand-back POST queued, and the table hears the timeout', async () => {
    const { service, store, oracle } = setup(async () => {
      throw new SipRequestError('timeout', 'Timer F');
    });
    const { contentType, body } = push('p2', undefined, PLMN);
    await service.handlePap(contentType, body);
    await settle(service);
    const record = store.get('p2');
    expect(record?.state).toBe('handing-back');
    expect(record?.reason).toBe('SIP transaction timeout');
    expect(store.outbox.listForPush('p2').map((item) => item.kind)).toEqual(['hand-back']);
    expect(oracle.reports[0]?.report).toEqual({ failure: 'timeout', coreAlive: true });
  });

  it('an SMS hint for a SIP identity with no known MSISDN: no blind hand-back, hand-back-refused with the reason, the PI told', async () => {
    const { service, store } = setup(async () => {
      throw new SipRequestError('timeout', 'Timer F');
    });
    const { contentType, body } = push('p-nomsisdn', undefined, userAddress('sip:carol@127.0.0.1'), 'http://127.0.0.1:9/notify');
    await service.handlePap(contentType, body);
    await settle(service);
    const record = store.get('p-nomsisdn');
    expect(record?.state).toBe('hand-back-refused');
    expect(record?.reason).toMatch(/^no MSISDN for SMS hand-back/);
    const items = store.outbox.listForPush('p-nomsisdn');
    expect(items.map((item) => item.kind)).toEqual(['result-notification']);
    expect(items[0]?.body.toString()).toMatch(/message-state="undeliverable" code="3010" desc="no MSISDN for SMS hand-back/);
    expect(service.outboxOutcomeCounts()).toEqual([{ kind: 'hand-back', outcome: 'not-possible', count: 1 }]);
  });

  it('a synchronous 3010 with an SMS hint for a SIP identity without a known MSISDN says so, and counts it', async () => {
    const { service, oracle } = setup(async () => ({ status: 200, reason: 'OK', headers: {}, body: Buffer.alloc(0) }));
    oracle.verdict = { reachability: 'unreachable', acceptedApps: 'any', bearerHint: 'SMS', reason: 'basic is closed' };
    const carol = push('p-sync-nomsisdn', undefined, userAddress('sip:carol@127.0.0.1'));
    const reply = await service.handlePap(carol.contentType, carol.body);
    expect(reply.body).toMatch(
      /code="3010" desc="SIP bearer not available \(basic is closed\); bearer hint: SMS; no MSISDN for SMS hand-back"/,
    );
    expect(service.outboxOutcomeCounts()).toEqual([{ kind: 'hand-back', outcome: 'not-possible', count: 1 }]);
    const phone = push('p-sync-plmn', undefined, PLMN);
    expect((await service.handlePap(phone.contentType, phone.body)).body).toMatch(/bearer hint: SMS"/);
  });

  it('a body the engine cannot carry (BODY_NOT_CARRIED) is handed back without blaming the user', async () => {
    const { service, store, oracle } = setup(async () => {
      throw new AgentError(ErrorCodes.BODY_NOT_CARRIED, 'drachtio engine carries UTF-8 text bodies only');
    });
    const { contentType, body } = push('p3', Buffer.from([0x00, 0xff]), PLMN);
    await service.handlePap(contentType, body);
    await settle(service);
    expect(store.get('p3')?.state).toBe('handing-back');
    expect(store.get('p3')?.reason).toContain('UTF-8 text bodies only');
    expect(oracle.reports).toEqual([]);
  });

  it('past maxInFlight + maxQueued, intake answers 4001 at once and recovers when the queue drains', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const { service } = setup(
      async () => {
        await gate;
        return { status: 200, reason: 'OK', headers: {}, body: Buffer.alloc(0) };
      },
      { maxInFlight: 1, maxQueued: 1 },
    );
    const codes: number[] = [];
    for (const id of ['q1', 'q2', 'q3']) {
      const { contentType, body } = push(id);
      codes.push((await service.handlePap(contentType, body)).httpStatus);
    }
    expect(codes).toEqual([202, 202, 503]);
    release();
    await settle(service);
    const { contentType, body } = push('q4');
    expect((await service.handlePap(contentType, body)).httpStatus).toBe(202);
    await settle(service);
  });

  it('resume(): a push interrupted while delivering is sent again and delivered', async () => {
    const first = setup(async () => new Promise<SipFinalResponse>(() => undefined));
    const { contentType, body } = push('r1');
    await first.service.handlePap(contentType, body);
    await waitFor(() => first.store.get('r1')?.state === 'delivering', 'r1 on the wire', 2000);
    expect(first.store.get('r1')?.state).toBe('delivering');
    // The process "dies" here; a new service over the same store resumes.
    const second = setup(async () => ({ status: 200, reason: 'OK', headers: {}, body: Buffer.alloc(0) }), { store: first.store });
    expect(await second.service.resume()).toBe(1);
    await settle(second.service);
    expect(first.store.get('r1')?.state).toBe('delivered');
    expect(second.engine.sent).toHaveLength(1);
  });

  it('concurrent intakes share one group commit; a duplicate push-id among them alone gets 2007', async () => {
    const { service, store } = setup(async () => ({ status: 200, reason: 'OK', headers: {}, body: Buffer.alloc(0) }), {
      maxInFlight: 50,
      maxQueued: 50,
    });
    const ids = [...Array.from({ length: 20 }, (_, i) => `g${i}`), 'g3'];
    const replies = await Promise.all(
      ids.map((id) => {
        const { contentType, body } = push(id);
        return service.handlePap(contentType, body);
      }),
    );
    expect(replies.filter((r) => r.httpStatus === 202)).toHaveLength(20);
    expect(replies[20]?.body).toContain('code="2007"');
    expect(store.groupCommitStats().largestBatch).toBeGreaterThanOrEqual(21);
    await settle(service);
    expect(store.countsByState().delivered).toBe(20);
    expect(store.history('g3').map((h) => h.to)).toEqual(['accepted', 'delivering', 'delivered']);
  });

  it('a MESSAGE on the wire answers cancel 2008 and reads delivering; its delivering row committed before it left', async () => {
    let seenInside: { cancel: string; status: string; stored: string | undefined } | undefined;
    const ctx = setup(async () => {
      // Called by deliver() once `delivering` (with the attempt count) is on disk.
      const stored = ctx.store.get('w1')?.state;
      const status = (await ctx.service.statusQuery('w1')).body;
      seenInside = { stored, status, cancel: (await ctx.service.cancel('w1')).body };
      return { status: 200, reason: 'OK', headers: {}, body: Buffer.alloc(0) };
    });
    const { contentType, body } = push('w1');
    await ctx.service.handlePap(contentType, body);
    await settle(ctx.service);
    expect(seenInside?.stored).toBe('delivering');
    expect(seenInside?.cancel).toContain('code="2008"');
    expect(seenInside?.status).toContain('Pending (delivering)');
    expect(ctx.store.get('w1')?.state).toBe('delivered');
    expect(ctx.service.counters.cancelled).toBe(0);
  });

  it('cancel before the MESSAGE leaves still works (accepted → cancelled, no SIP request)', async () => {
    const ctx = setup(async () => ({ status: 200, reason: 'OK', headers: {}, body: Buffer.alloc(0) }));
    const future = new Date(Date.now() + 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const { contentType, body } = papPush({
      pushId: 'x1',
      address: userAddress('sip:alice@127.0.0.1'),
      content: Buffer.from('hi'),
      contentType: 'text/plain',
      deliverAfter: future,
    });
    expect((await ctx.service.handlePap(contentType, body)).httpStatus).toBe(202);
    expect((await ctx.service.cancel('x1')).body).toContain('code="1000"');
    expect(ctx.store.get('x1')?.state).toBe('cancelled');
    await settle(ctx.service);
    expect(ctx.engine.sent).toHaveLength(0);
  });
});

describe('PushService: limits decided at intake', () => {
  const wbxml = Buffer.from([0x02, 0x05, 0x6a, 0x00, 0x45, 0xc6, 0x0c, 0x03, 0x01]);

  it('a binary body on a text-only engine → synchronous 3010 with hint and reason, nothing stored, no SIP, own metric', async () => {
    const ctx = setup(OK, { capabilities: { binaryBodies: false, maxBodyBytes: 8192 } });
    const { contentType, body } = pushWith('e1', wbxml, { contentType: 'application/vnd.wap.sic' });
    const reply = await ctx.service.handlePap(contentType, body);
    expect(reply.httpStatus).toBe(200);
    expect(reply.body).toContain('code="3010"');
    expect(reply.body).toContain('text bodies only');
    expect(reply.headers['X-Push-Bearer-Hint']).toBe('SMS');
    expect(ctx.store.get('e1')).toBeUndefined();
    await settle(ctx.service);
    expect(ctx.engine.sent).toHaveLength(0);
    expect(ctx.service.counters).toMatchObject({ handedBackEngineLimit: 1, accepted: 0, messagesSent: 0 });
  });

  it('a body over the engine cap → 3010 naming the limit; text under it is accepted and sent', async () => {
    const ctx = setup(OK, { capabilities: { binaryBodies: false, maxBodyBytes: 100 } });
    const big = push('e2', Buffer.alloc(101, 'a'));
    const reply = await ctx.service.handlePap(big.contentType, big.body);
    expect(reply.body).toContain('code="3010"');
    expect(reply.body).toContain('up to 100 bytes');
    const small = push('e3', Buffer.from('plain text'));
    expect((await ctx.service.handlePap(small.contentType, small.body)).httpStatus).toBe(202);
    await settle(ctx.service);
    expect(ctx.store.get('e3')?.state).toBe('delivered');
    expect(ctx.service.counters.messagesSent).toBe(1);
  });

  it('the same binary body on an engine that carries binary is accepted', async () => {
    const ctx = setup(OK);
    const { contentType, body } = pushWith('e4', wbxml, { contentType: 'application/vnd.wap.sic' });
    expect((await ctx.service.handlePap(contentType, body)).httpStatus).toBe(202);
  });

  it('a deliver-before already past, or not after deliver-after, is refused with 2000 naming the field', async () => {
    const ctx = setup(OK);
    const past = pushWith('d1', undefined, { deliverBefore: papTime(-60_000) });
    const r1 = await ctx.service.handlePap(past.contentType, past.body);
    expect(r1.body).toContain('code="2000"');
    expect(r1.body).toContain('deliver-before-timestamp');
    const inverted = pushWith('d2', undefined, { deliverAfter: papTime(120_000), deliverBefore: papTime(60_000) });
    const r2 = await ctx.service.handlePap(inverted.contentType, inverted.body);
    expect(r2.body).toContain('code="2000"');
    expect(r2.body).toContain('deliver-after-timestamp');
    expect(ctx.store.get('d1')).toBeUndefined();
    expect(ctx.store.get('d2')).toBeUndefined();
  });

  it('scheduled pushes count against maxScheduled (4001 past it), keep no body in memory, and free their slot on cancel', async () => {
    const ctx = setup(OK, { maxScheduled: 2 });
    const codes: string[] = [];
    for (const id of ['s1', 's2', 's3']) {
      const { contentType, body } = pushWith(id, Buffer.alloc(2000, 'x'), { deliverAfter: papTime(3_600_000) });
      codes.push(/code="(\d+)"/.exec((await ctx.service.handlePap(contentType, body)).body)![1]!);
    }
    expect(codes).toEqual(['1001', '1001', '4001']);
    expect(ctx.service.scheduledCount).toBe(2);
    expect((ctx.service as unknown as { submissions: Map<string, unknown> }).submissions.size).toBe(0);
    // An immediate push is not limited by the schedule.
    const now = push('s4');
    expect((await ctx.service.handlePap(now.contentType, now.body)).httpStatus).toBe(202);
    expect((await ctx.service.cancel('s1')).body).toContain('code="1000"');
    expect(ctx.service.scheduledCount).toBe(1);
    const again = pushWith('s5', undefined, { deliverAfter: papTime(3_600_000) });
    expect((await ctx.service.handlePap(again.contentType, again.body)).httpStatus).toBe(202);
    await settle(ctx.service);
  });

  it('a scheduled push is read from the store when due and delivered; resume schedules without loading bodies', async () => {
    const ctx = setup(OK);
    const { contentType, body } = pushWith('s6', Buffer.from('later'), { deliverAfter: papTime(1500) });
    expect((await ctx.service.handlePap(contentType, body)).httpStatus).toBe(202);
    // A second service over the same store (a restart): it schedules s6 from the light query.
    const second = setup(OK, { store: ctx.store });
    await ctx.service.drain(10);
    expect(await second.service.resume()).toBe(1);
    expect(second.service.scheduledCount).toBe(1);
    expect(
      await eventually(
        () => ctx.store.get('s6')?.state,
        (state) => state === 'delivered',
        5000,
        50,
      ),
    ).toBe('delivered');
    expect(second.engine.sent[0]?.body?.toString()).toBe('later');
    expect(ctx.engine.sent).toHaveLength(0);
  });
});

describe('PushService: unconfirmed outcomes', () => {
  it('the identity (Call-ID, From tag, CSeq) is stored at intake and carried by the MESSAGE', async () => {
    const ctx = setup(OK);
    const { contentType, body } = push('i1');
    await ctx.service.handlePap(contentType, body);
    await settle(ctx.service);
    const identity = ctx.store.get('i1')?.messageIdentity;
    expect(identity?.callId).toMatch(/^[0-9a-f]{24}@sip-push-agent$/);
    expect(ctx.engine.sent[0]?.identity).toEqual(identity);
  });

  it('Timer F with whenUnconfirmed=report → terminal unconfirmed, PI notified with message-state unknown, no hand-back', async () => {
    const ctx = setup(
      async () => {
        throw new SipRequestError('timeout', 'Timer F');
      },
      { profile: reportProfile },
    );
    const { contentType, body } = pushWith('u1', undefined, { notifyTo: 'http://127.0.0.1:9/notify' });
    await ctx.service.handlePap(contentType, body);
    await settle(ctx.service);
    expect(ctx.store.get('u1')?.state).toBe('unconfirmed');
    const items = ctx.store.outbox.listForPush('u1');
    expect(items.map((i) => i.kind)).toEqual(['result-notification']);
    expect(items[0]!.body.toString()).toContain('message-state="unknown"');
    expect((await ctx.service.statusQuery('u1')).body).toContain('message-state="unknown"');
    expect(ctx.service.counters).toMatchObject({ unconfirmed: 1, messagesSent: 1, handedBackAsync: 0 });
  });

  it('a 408 from the core is unconfirmed too (the core timed out; the handset may have it)', async () => {
    const ctx = setup(async () => ({ status: 408, reason: 'Request Timeout', headers: {}, body: Buffer.alloc(0) }), {
      profile: reportProfile,
    });
    const { contentType, body } = push('u2');
    await ctx.service.handlePap(contentType, body);
    await settle(ctx.service);
    expect(ctx.store.get('u2')?.state).toBe('unconfirmed');
  });

  it('a transport error before the request left is a plain failure (handed back) and no MESSAGE is counted', async () => {
    const ctx = setup(
      async () => {
        throw new SipRequestError('transport', 'connect ECONNREFUSED', { requestLeft: false });
      },
      { profile: reportProfile },
    );
    const { contentType, body } = push('u3', undefined, PLMN); // routable for an SMS hand-back
    await ctx.service.handlePap(contentType, body);
    await settle(ctx.service);
    expect(ctx.store.get('u3')?.state).toBe('handing-back');
    expect(ctx.service.counters.messagesSent).toBe(0);
  });

  it('a transport loss after the request left is unconfirmed', async () => {
    const ctx = setup(
      async () => {
        throw new SipRequestError('transport', 'socket closed', { requestLeft: true });
      },
      { profile: reportProfile },
    );
    const { contentType, body } = push('u4');
    await ctx.service.handlePap(contentType, body);
    await settle(ctx.service);
    expect(ctx.store.get('u4')?.state).toBe('unconfirmed');
    expect(ctx.service.counters.messagesSent).toBe(1);
  });

  it('after a crash mid-delivery the resend carries the same identity, and a 480 to it is unconfirmed, not a hand-back', async () => {
    const first = setup(async () => new Promise<SipFinalResponse>(() => undefined), { profile: reportProfile });
    const { contentType, body } = push('u5');
    await first.service.handlePap(contentType, body);
    await waitFor(() => first.store.get('u5')?.state === 'delivering', 'u5 on the wire', 2000);
    expect(first.store.get('u5')?.state).toBe('delivering');
    const second = setup(async () => ({ status: 480, reason: 'Temporarily Unavailable', headers: {}, body: Buffer.alloc(0) }), {
      store: first.store,
      profile: reportProfile,
    });
    expect(await second.service.resume()).toBe(1);
    await settle(second.service);
    expect(second.engine.sent[0]?.identity).toEqual(first.engine.sent[0]?.identity);
    expect(first.store.get('u5')?.state).toBe('unconfirmed');
    expect(first.store.get('u5')?.sipAttempts).toBe(2);
    expect(first.store.outbox.listForPush('u5').filter((i) => i.kind === 'hand-back')).toHaveLength(0);
  });

  it('with whenUnconfirmed=hand-back (the default) an unconfirmed MESSAGE is handed back and counted as such', async () => {
    const ctx = setup(async () => {
      throw new SipRequestError('timeout', 'Timer F');
    });
    const { contentType, body } = push('u6', undefined, PLMN); // routable for an SMS hand-back
    await ctx.service.handlePap(contentType, body);
    await settle(ctx.service);
    expect(ctx.store.get('u6')?.state).toBe('handing-back');
    expect(ctx.service.counters.unconfirmedHandedBack).toBe(1);
  });
});

describe('push service: SIP core health', () => {
  it('core down → synchronous 3010 "SIP core unreachable" with the hint, nothing stored, no SIP at all', async () => {
    const core = { state: 'down' as const, downs: 1 };
    const { service, store, engine, oracle } = setup(async () => ({ status: 200, reason: 'OK', headers: {}, body: Buffer.alloc(0) }), {
      coreHealth: core,
    });
    const { contentType, body } = push('down-1');
    const reply = await service.handlePap(contentType, body);
    expect(reply.httpStatus).toBe(200);
    expect(reply.body).toContain('code="3010"');
    expect(reply.body).toContain('SIP core unreachable');
    expect(reply.headers['X-Push-Bearer-Hint']).toBe('SMS');
    expect(store.get('down-1')).toBeUndefined();
    expect(engine.sent).toHaveLength(0);
    expect(oracle.reports).toHaveLength(0);
    expect(service.counters).toMatchObject({ coreDown: 1, handedBackSync: 1, accepted: 0 });
  });

  it('a timeout during which the core went down is reported with coreAlive false (no blame on the user)', async () => {
    const core: { state: 'unknown' | 'up' | 'down'; downs: number } = { state: 'up', downs: 0 };
    const { service, oracle } = setup(
      async () => {
        core.state = 'down';
        core.downs += 1;
        core.state = 'up';
        throw new SipRequestError('timeout', 'Timer F');
      },
      { coreHealth: core },
    );
    const { contentType, body } = push('down-2');
    await service.handlePap(contentType, body);
    await settle(service);
    expect(oracle.reports[0]?.report).toEqual({ failure: 'timeout', coreAlive: false });
  });
});

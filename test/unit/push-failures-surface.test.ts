/**
 * Failures inside the push flow are not swallowed: each is logged with its error, counted (internal
 * errors, exposed as spa_internal_errors_total{where}), and answered
 * so a caller can act — a store failure on cancel is PAP 4001 / HTTP 503 (try again), not 2008; an
 * unexpected exception while mapping an address is an internal failure (PAP 3000 / HTTP 500), not the
 * PI's address error 2002; a delivery job that throws is logged and counted, not dropped silently.
 * Stand-in engine and oracle over a real SQLite store.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { ReachabilityOracle } from '../../src/capabilities/reachability-oracle.js';
import { PapEndpoint } from '../../src/intake/pap/pap-endpoint.js';
import { internalErrorCount } from '../../src/lib/internal-errors.js';
import { loadProfile } from '../../src/profiles/load-profile.js';
import type { SipProfile } from '../../src/profiles/schema.js';
import { PushCore } from '../../src/push/push-core.js';
import { PushStore } from '../../src/push/store/sqlite/sqlite-push-store.js';
import { sqlitePushStorePort } from '../../src/push/store/sqlite/sqlite-push-store-port.js';
import type { SipEngine, SipFinalResponse } from '../../src/sip/port.js';
import { waitFor } from '../support/poll.js';
import { papControl, papPush, userAddress } from '../support/agent-under-test.js';

type Line = Record<string, unknown> & { level: number; msg: string };

const profile = loadProfile('kamailio-lab');
const stores: PushStore[] = [];

afterEach(() => {
  for (const store of stores.splice(0)) store.close();
});

function setup(answer: () => Promise<SipFinalResponse>, options: { profile?: SipProfile; maxInFlight?: number } = {}) {
  const lines: Line[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const text of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(text) as Line);
      done();
    },
  });
  const store = PushStore.open(join(mkdtempSync(join(tmpdir(), 'spa-fail-')), 'p.sqlite'));
  stores.push(store);
  const engine = {
    name: 'embedded',
    connected: true,
    capabilities: { binaryBodies: true },
    start: async () => undefined,
    stop: async () => undefined,
    localAddresses: () => [],
    request: answer,
    subscribe: () => Promise.reject(new Error('not used')),
    onIncomingRequest: () => undefined,
    stats: () => ({ requestsSent: {}, responsesReceived: {}, retransmissions: 0, transactionTimeouts: 0, requestsReceived: {} }),
  } as unknown as SipEngine;
  const oracle: ReachabilityOracle = {
    decide: async () => ({ reachability: 'reachable', acceptedApps: 'any', bearerHint: 'SMS', reason: 'open' }),
    recordDelivery: () => undefined,
  };
  const core = new PushCore({
    store: sqlitePushStorePort(store),
    engine,
    oracle,
    profile: options.profile ?? profile,
    logger: pino({ level: 'info' }, stream),
    handBackUrl: 'http://127.0.0.1:9/handback',
    policy: 'presence-aware',
    maxInFlight: options.maxInFlight ?? 10,
    maxQueued: 10,
  });
  return { store, core, pap: new PapEndpoint(core), lines };
}

const OK = async (): Promise<SipFinalResponse> => ({ status: 200, reason: 'OK', headers: {}, body: Buffer.alloc(0) });
const errorLines = (lines: Line[]) => lines.filter((l) => l.level >= 50 && typeof l.err === 'object' && l.err !== null);
const later = () => new Date(Date.now() + 3_600_000).toISOString().replace(/\.\d{3}Z$/, 'Z');

describe('failures in the push flow surface', () => {
  it('a store failure while cancelling answers 4001 with HTTP 503, is logged and counted; the push stays cancellable', async () => {
    const ctx = setup(OK);
    const { contentType, body } = papPush({
      pushId: 'c1',
      address: userAddress('sip:alice@127.0.0.1'),
      content: Buffer.from('hi'),
      contentType: 'text/plain',
      deliverAfter: later(),
    });
    expect((await ctx.pap.handlePap(contentType, body)).httpStatus).toBe(202);
    const realTransition = ctx.store.transitionDurable.bind(ctx.store);
    ctx.store.transitionDurable = () => {
      throw Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR' });
    };
    const cancel = papControl('cancel-message', 'c1');
    const before = internalErrorCount('push:cancel-store');
    const reply = await ctx.pap.handlePap(cancel.contentType, cancel.body);
    ctx.store.transitionDurable = realTransition;
    expect(reply.body).toContain('code="4001"');
    expect(reply.httpStatus).toBe(503);
    expect(ctx.store.get('c1')?.state).toBe('accepted');
    expect(internalErrorCount('push:cancel-store') - before).toBe(1);
    expect(errorLines(ctx.lines).some((l) => String((l.err as { message?: string }).message).includes('disk I/O error'))).toBe(true);
    // Once the store works again the same cancel succeeds.
    expect((await ctx.pap.handlePap(cancel.contentType, cancel.body)).body).toContain('code="1000"');
    await ctx.core.drain(2000);
  });

  it('an unexpected exception while mapping the address is an internal failure (3000, HTTP 500), not the PI’s 2002', async () => {
    const broken = {
      ...profile,
      get addressing(): never {
        throw new TypeError('profile lost its addressing section');
      },
    } as SipProfile;
    const ctx = setup(OK, { profile: broken });
    const { contentType, body } = papPush({
      pushId: 'a1',
      address: 'WAPPUSH=alice/TYPE=USER',
      content: Buffer.from('hi'),
      contentType: 'text/plain',
    });
    const before = internalErrorCount('push:admission');
    const reply = await ctx.pap.handlePap(contentType, body);
    expect(reply.body).not.toContain('code="2002"');
    expect(reply.body).toContain('code="3000"');
    expect(reply.httpStatus).toBe(500);
    expect(ctx.store.get('a1')).toBeUndefined();
    expect(internalErrorCount('push:admission') - before).toBe(1);
    expect(errorLines(ctx.lines).map((l) => (l.err as { message?: string }).message)).toContain('profile lost its addressing section');
    await ctx.core.drain(2000);
  });

  it('a delivery job that throws before its attempt is logged with the error and counted, not dropped silently', async () => {
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const ctx = setup(
      async () => {
        await held;
        return OK();
      },
      { maxInFlight: 1 },
    );
    // d2 is due 1–2 s later (PAP timestamps are whole seconds), so its attempt reads it from the store (a
    // push due at once comes with its record); that read fails when its turn comes.
    const soon = new Date(Date.now() + 2_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    for (const id of ['d1', 'd2']) {
      const { contentType, body } = papPush({
        pushId: id,
        address: userAddress('sip:alice@127.0.0.1'),
        content: Buffer.from('hi'),
        contentType: 'text/plain',
        ...(id === 'd2' && { deliverAfter: soon }),
      });
      expect((await ctx.pap.handlePap(contentType, body)).httpStatus).toBe(202);
    }
    const before = internalErrorCount('push:delivery-job');
    const realGet = ctx.store.get.bind(ctx.store);
    ctx.store.get = (pushId: string) => {
      if (pushId === 'd2') throw new Error('store read failed');
      return realGet(pushId);
    };
    release();
    await waitFor(
      () => errorLines(ctx.lines).some((l) => (l.err as { message?: string }).message === 'store read failed'),
      'the failure logged',
      10_000,
    );
    ctx.store.get = realGet;
    expect(internalErrorCount('push:delivery-job') - before).toBe(1);
    expect(ctx.store.get('d1')?.state).toBe('delivered');
    // Not lost: still accepted, so a restart resumes it.
    expect(ctx.store.get('d2')?.state).toBe('accepted');
    await ctx.core.drain(2000);
  });
});

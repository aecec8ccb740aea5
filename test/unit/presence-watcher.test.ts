import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CapabilityOracle } from '../../src/capabilities/capability-oracle.js';
import { CapabilityTable } from '../../src/capabilities/capability-table.js';
import { silentLogger } from '../../src/lib/logger.js';
import { backoffDelay } from '../../src/lib/backoff.js';
import { PresenceWatcher } from '../../src/presence/presence-watcher.js';
import { stepAfterEnd } from '../../src/presence/resubscribe-policy.js';
import { parseWatchList } from '../../src/presence/watch-list.js';
import { loadProfile, validateProfile } from '../../src/profiles/load-profile.js';
import type { SipProfile } from '../../src/profiles/schema.js';
import {
  SipStatusError,
  type NotifyEvent,
  type SipEngine,
  type SipSubscription,
  type SubscribeOptions,
  type SubscriptionDelegate,
  type SubscriptionEnded,
} from '../../src/sip/port.js';

const OPEN = readFileSync(new URL('../fixtures/pidf/oma-push-open.xml', import.meta.url));
const CLOSED = readFileSync(new URL('../fixtures/pidf/kamailio-publication-removed.xml', import.meta.url));
const profile = loadProfile('kamailio-lab'); // firstNotifyWaitMs 1000, ttl 600 s
const A = 'sip:alice@127.0.0.1';

/** One SUBSCRIBE the fake engine received; the test settles it and drives its dialog. */
class FakeSubscribe {
  readonly subscription: SipSubscription & { refreshes: number; unsubscribes: number };
  private settle!: { resolve: (s: SipSubscription) => void; reject: (e: unknown) => void };
  readonly settled: Promise<SipSubscription>;
  unsubscribeHangs = false;

  constructor(
    readonly options: SubscribeOptions,
    readonly delegate: SubscriptionDelegate,
  ) {
    this.settled = new Promise((resolve, reject) => (this.settle = { resolve, reject }));
    const self = this;
    this.subscription = {
      id: `sub-${options.resource}`,
      phase: 'active',
      refreshes: 0,
      unsubscribes: 0,
      async refresh() {
        this.refreshes++;
      },
      unsubscribe() {
        this.unsubscribes++;
        return self.unsubscribeHangs ? new Promise<void>(() => undefined) : Promise.resolve();
      },
    };
  }
  accept(): void {
    this.settle.resolve(this.subscription);
  }
  reject(err: unknown): void {
    this.settle.reject(err);
  }
  notify(body: Buffer, state: NotifyEvent['subscriptionState'] = { state: 'active', expires: 600 }): void {
    this.delegate.onNotify({ subscriptionState: state, contentType: body.length ? 'application/pidf+xml' : undefined, body, headers: {} });
  }
  end(ended: SubscriptionEnded): void {
    this.delegate.onEnded(ended);
  }
}

class FakeEngine implements Partial<SipEngine> {
  readonly subscribes: FakeSubscribe[] = [];
  inFlight = 0;
  maxInFlight = 0;
  autoAccept = false;
  subscribe(options: SubscribeOptions, delegate: SubscriptionDelegate): Promise<SipSubscription> {
    const s = new FakeSubscribe(options, delegate);
    this.subscribes.push(s);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    if (this.autoAccept) s.accept();
    return s.settled.finally(() => this.inFlight--);
  }
  for(aor: string): FakeSubscribe[] {
    return this.subscribes.filter((s) => s.options.resource === aor);
  }
}

function setup(opts: { profile?: SipProfile; maxUsers?: number; maxConcurrentSubscribes?: number } = {}) {
  const p = opts.profile ?? profile;
  const engine = new FakeEngine();
  const table = new CapabilityTable({ maxUsers: opts.maxUsers ?? 100, profile: p });
  const watcher = new PresenceWatcher({
    engine: engine as unknown as SipEngine,
    table,
    profile: p,
    logger: silentLogger(),
    maxConcurrentSubscribes: opts.maxConcurrentSubscribes,
    backoff: { baseMs: 1000, maxMs: 8000 },
    random: () => 0, // jitter pinned: delay = ceiling / 2
  });
  // The oracle asks the watcher for first evidence and wires table eviction to it (as the agent does).
  const oracle = new CapabilityOracle(table, [watcher]);
  return { engine, table, watcher, oracle };
}

const flush = () => vi.advanceTimersByTimeAsync(0);

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('CapabilityOracle.decide over the PresenceWatcher', () => {
  it('subscribes once for concurrent decisions and answers from the first NOTIFY', async () => {
    const { oracle, engine } = setup();
    const decisions = Promise.all([1, 2, 3, 4, 5].map(() => oracle.decide(A)));
    await flush();
    expect(engine.subscribes).toHaveLength(1);
    const [s] = engine.subscribes;
    expect(s.options).toMatchObject({
      resource: A,
      event: 'presence',
      accept: ['application/pidf+xml'],
      expires: 600,
      from: profile.identity.uri,
    });
    s.accept();
    s.notify(OPEN);
    const results = await decisions;
    expect(results.map((d) => d.rule)).toEqual(Array(5).fill('push-service-open'));
    // Known and fresh now: answered without another SUBSCRIBE.
    expect((await oracle.decide(A)).reachability).toBe('reachable');
    expect(engine.subscribes).toHaveLength(1);
  });

  it('waits at most firstNotifyWaitMs, then decides unknown (first-notify-timeout)', async () => {
    const { oracle, engine } = setup();
    const decision = oracle.decide(A);
    await flush();
    engine.subscribes[0].accept();
    await vi.advanceTimersByTimeAsync(profile.presence.firstNotifyWaitMs - 1);
    let done = false;
    void decision.then(() => (done = true));
    await flush();
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(await decision).toMatchObject({ reachability: 'unknown', rule: 'first-notify-timeout' });
  });

  it('an empty first NOTIFY answers at once: nothing published', async () => {
    const { oracle, engine } = setup();
    const decision = oracle.decide(A);
    await flush();
    engine.subscribes[0].accept();
    engine.subscribes[0].notify(Buffer.alloc(0));
    expect(await decision).toMatchObject({ reachability: 'unknown', rule: 'nothing-published' });
  });

  it('a later closed NOTIFY flips the user to unreachable; an unparseable one keeps the state', async () => {
    const { oracle, engine, watcher } = setup();
    const first = oracle.decide(A);
    await flush();
    const [s] = engine.subscribes;
    s.accept();
    s.notify(OPEN);
    await first;
    s.notify(Buffer.from('<presence'));
    expect((await oracle.decide(A)).reachability).toBe('reachable');
    s.notify(CLOSED);
    expect((await oracle.decide(A)).reachability).toBe('unreachable');
    expect(watcher.stats()).toMatchObject({ notifiesReceived: 3, parseErrors: 1 });
  });

  it('does not subscribe when presence is disabled', async () => {
    const off = validateProfile({ ...profile, presence: { ...profile.presence, enabled: false } });
    const { oracle, engine } = setup({ profile: off });
    expect((await oracle.decide(A)).rule).toBe('presence-disabled');
    expect(engine.subscribes).toHaveLength(0);
  });

  it('an expired entry drops the old subscription (Expires: 0) and subscribes again', async () => {
    const short = validateProfile({ ...profile, capabilities: { ...profile.capabilities, ttlSeconds: 5 } });
    const { oracle, engine } = setup({ profile: short });
    const first = oracle.decide(A);
    await flush();
    engine.subscribes[0].accept();
    engine.subscribes[0].notify(OPEN);
    await first;
    await vi.advanceTimersByTimeAsync(5000);
    const again = oracle.decide(A);
    await flush();
    expect(engine.subscribes[0].subscription.unsubscribes).toBe(1);
    expect(engine.subscribes).toHaveLength(2);
    engine.subscribes[1].accept();
    engine.subscribes[1].notify(CLOSED);
    expect((await again).reachability).toBe('unreachable');
  });
});

describe('PresenceWatcher: subscription lifecycle', () => {
  async function activeUser() {
    const ctx = setup();
    const p = ctx.watcher.watch([A]);
    await flush();
    ctx.engine.subscribes[0].accept();
    await p;
    return ctx;
  }

  it('terminated;reason=deactivated resubscribes at once, then with exponential backoff', async () => {
    const { engine, watcher } = await activeUser();
    engine.subscribes[0].end({ cause: 'notify-terminated', reason: 'deactivated' });
    await flush();
    expect(engine.subscribes).toHaveLength(2);
    engine.subscribes[1].accept();
    await flush();
    engine.subscribes[1].end({ cause: 'notify-terminated', reason: 'deactivated' });
    expect(watcher.stats().subscriptions.backoff).toBe(1);
    await vi.advanceTimersByTimeAsync(999); // attempt 1: ceiling 2000 ms, pinned jitter → 1000 ms
    expect(engine.subscribes).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(engine.subscribes).toHaveLength(3);
  });

  it('honours retry-after on probation and on a 503 to the SUBSCRIBE', async () => {
    const { engine } = await activeUser();
    engine.subscribes[0].end({ cause: 'notify-terminated', reason: 'probation', retryAfter: 30 });
    await vi.advanceTimersByTimeAsync(29_999);
    expect(engine.subscribes).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(engine.subscribes).toHaveLength(2);
    engine.subscribes[1].reject(new SipStatusError(503, 'Service Unavailable', 20));
    await vi.advanceTimersByTimeAsync(19_999);
    expect(engine.subscribes).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(engine.subscribes).toHaveLength(3);
  });

  it('refresh-failed (481) resubscribes; a refresh timeout backs off', async () => {
    const { engine } = await activeUser();
    engine.subscribes[0].end({ cause: 'refresh-failed', status: 481 });
    await flush();
    expect(engine.subscribes).toHaveLength(2);
    engine.subscribes[1].accept();
    await flush();
    engine.subscribes[1].end({ cause: 'refresh-failed', status: 408 });
    await flush();
    expect(engine.subscribes).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1000);
    expect(engine.subscribes).toHaveLength(3);
  });

  it('a 403 to SUBSCRIBE stops watching: unknown, and no new SUBSCRIBE on demand', async () => {
    const { oracle, engine, watcher } = setup();
    const d = oracle.decide(A);
    await flush();
    engine.subscribes[0].reject(new SipStatusError(403, 'Forbidden'));
    expect(await d).toMatchObject({ reachability: 'unknown', rule: 'rejected' });
    expect((await oracle.decide(A)).rule).toBe('rejected');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(engine.subscribes).toHaveLength(1);
    expect(watcher.stats().subscriptions.stopped).toBe(1);
  });

  it('terminated;reason=noresource stops watching and marks the user unreachable', async () => {
    const { oracle, engine } = await activeUser();
    engine.subscribes[0].notify(OPEN);
    engine.subscribes[0].end({ cause: 'notify-terminated', reason: 'noresource' });
    expect(await oracle.decide(A)).toMatchObject({ reachability: 'unreachable', rule: 'noresource' });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(engine.subscribes).toHaveLength(1);
  });

  it('refresh(aor) refreshes a live subscription and resubscribes a stopped one', async () => {
    const { engine, watcher } = await activeUser();
    await watcher.refresh(A);
    expect(engine.subscribes[0].subscription.refreshes).toBe(1);
    engine.subscribes[0].end({ cause: 'notify-terminated', reason: 'rejected' });
    const forced = watcher.refresh(A);
    await flush();
    expect(engine.subscribes).toHaveLength(2);
    engine.subscribes[1].accept();
    await forced;
    expect(watcher.stats().subscriptions.active).toBe(1);
  });

  it('refresh(aor) for a user never seen starts one SUBSCRIBE', async () => {
    const { engine, watcher } = setup({});
    engine.autoAccept = true;
    await watcher.refresh('sip:new@x');
    await flush();
    expect(engine.for('sip:new@x')).toHaveLength(1);
    await watcher.refresh('sip:new@x');
    await flush();
    expect(engine.for('sip:new@x')).toHaveLength(1);
  });

  it('a table eviction unsubscribes the evicted user', async () => {
    const { engine, watcher } = setup({ maxUsers: 2 });
    engine.autoAccept = true;
    await watcher.watch(['sip:a@x', 'sip:b@x']);
    await watcher.watch(['sip:c@x']);
    await flush();
    expect(engine.for('sip:a@x')[0].subscription.unsubscribes).toBe(1);
    expect(engine.for('sip:b@x')[0].subscription.unsubscribes).toBe(0);
    expect(watcher.stats().subscriptions.active).toBe(2);
  });
});

describe('PresenceWatcher: concurrency, watch list, stop', () => {
  it('keeps at most maxConcurrentSubscribes SUBSCRIBEs in flight, on-demand ones first', async () => {
    const { oracle, engine, watcher } = setup({ maxConcurrentSubscribes: 3 });
    const aors = Array.from({ length: 10 }, (_, i) => `sip:u${i}@x`);
    const watching = watcher.watch(aors);
    await flush();
    expect(engine.subscribes).toHaveLength(3);
    const urgent = oracle.decide('sip:urgent@x');
    engine.subscribes[0].accept();
    await flush();
    expect(engine.subscribes[3].options.resource).toBe('sip:urgent@x');
    for (let i = 0; i < 20 && engine.subscribes.some((_s) => engine.inFlight > 0); i++) {
      for (const s of engine.subscribes) s.accept();
      await flush();
    }
    await watching;
    expect(engine.subscribes).toHaveLength(11);
    expect(engine.maxInFlight).toBe(3);
    engine.for('sip:urgent@x')[0].notify(OPEN);
    expect((await urgent).reachability).toBe('reachable');
  });

  it('loadWatchList reads one AOR per line with # comments, and refuses bad lines', async () => {
    const { engine, watcher } = setup();
    engine.autoAccept = true;
    const dir = mkdtempSync(join(tmpdir(), 'watch-'));
    const path = join(dir, 'watch.txt');
    writeFileSync(path, '# users\nsip:a@x\n\n  sip:b@x   # desk phone\nsip:a@x\ntel:+4915112345678\n');
    const aors = watcher.loadWatchList(path);
    expect(aors).toEqual(['sip:a@x', 'sip:b@x', 'tel:+4915112345678']);
    await watcher.watch(aors);
    expect(engine.subscribes.map((s) => s.options.resource)).toEqual(aors);
    expect(() => parseWatchList('sip:a@x\nalice\n')).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    expect(() => watcher.loadWatchList(join(dir, 'missing.txt'))).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });

  it('stop() unsubscribes everyone and gives up after timeoutMs', async () => {
    const { oracle, engine, watcher } = setup();
    engine.autoAccept = true;
    await watcher.watch(['sip:a@x', 'sip:b@x', 'sip:c@x']);
    engine.for('sip:c@x')[0].unsubscribeHangs = true;
    const stopping = watcher.stop(2000);
    await vi.advanceTimersByTimeAsync(2000);
    expect(await stopping).toEqual({ unsubscribed: 2, abandoned: 1 });
    expect(engine.subscribes.every((s) => s.subscription.unsubscribes === 1)).toBe(true);
    expect((await oracle.decide('sip:new@x')).reachability).toBe('unknown');
    expect(engine.subscribes).toHaveLength(3);
  });
});

describe('backoff and resubscribe policy', () => {
  it('doubles up to the cap with jitter in [ceiling/2, ceiling], retry-after as a floor', () => {
    const s = { baseMs: 1000, maxMs: 8000 };
    // failures 1, 2, 3, ...: the random draw 0 keeps half the ceiling, a draw near 1 all of it.
    expect([1, 2, 3, 4, 5, 11].map((n) => backoffDelay(s, n, () => 0))).toEqual([500, 1000, 2000, 4000, 4000, 4000]);
    expect(backoffDelay(s, 4, () => 0.999999)).toBe(8000);
    expect(backoffDelay(s, 1, () => 0, 60_000)).toBe(60_000);
  });

  it('maps end causes per RFC 6665 §4.1.3', () => {
    expect(stepAfterEnd({ cause: 'notify-terminated', reason: 'timeout' })).toEqual({ action: 'retry', immediateFirst: true });
    expect(stepAfterEnd({ cause: 'notify-terminated', reason: 'giveup', retryAfter: 5 })).toEqual({
      action: 'retry',
      immediateFirst: false,
      retryAfter: 5,
    });
    expect(stepAfterEnd({ cause: 'notify-terminated', reason: 'invariant' })).toEqual({ action: 'stop' });
    expect(stepAfterEnd({ cause: 'rejected', status: 404 })).toEqual({ action: 'stop', refusal: 'noresource' });
    expect(stepAfterEnd({ cause: 'rejected', status: 500 })).toEqual({ action: 'retry', immediateFirst: false });
    expect(stepAfterEnd({ cause: 'timeout' })).toEqual({ action: 'retry', immediateFirst: false });
    expect(stepAfterEnd({ cause: 'engine-stopped' })).toEqual({ action: 'stop' });
  });
});

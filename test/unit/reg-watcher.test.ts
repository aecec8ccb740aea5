import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CapabilityOracle } from '../../src/capabilities/capability-oracle.js';
import { CapabilityTable } from '../../src/capabilities/capability-table.js';
import { silentLogger } from '../../src/lib/logger.js';
import { PresenceWatcher } from '../../src/presence/presence-watcher.js';
import { SourceWatchers } from '../../src/presence/source-watchers.js';
import { loadProfile, validateProfile } from '../../src/profiles/load-profile.js';
import { regSource } from '../../src/registration/reg-source.js';
import type { SipEngine, SipSubscription, SubscribeOptions, SubscriptionDelegate } from '../../src/sip/port.js';

const profile = validateProfile({ ...loadProfile('kamailio-lab'), sources: ['reg'] }); // registrationIsEnough
const A = 'sip:alice@127.0.0.1';

/** The engine seen from the watcher: records SUBSCRIBEs, accepts them, lets the test send NOTIFYs. */
class FakeEngine {
  readonly subscribes: Array<{ options: SubscribeOptions; delegate: SubscriptionDelegate; refreshes: number }> = [];
  subscribe(options: SubscribeOptions, delegate: SubscriptionDelegate): Promise<SipSubscription> {
    const entry = { options, delegate, refreshes: 0 };
    this.subscribes.push(entry);
    return Promise.resolve({
      id: 'sub',
      phase: 'active',
      async refresh() {
        entry.refreshes++;
      },
      unsubscribe: () => Promise.resolve(),
    });
  }
  notify(body: string, cseq: number): void {
    const last = this.subscribes.at(-1)!;
    last.delegate.onNotify({
      subscriptionState: { state: 'active', expires: 600 },
      contentType: body ? 'application/reginfo+xml' : undefined,
      body: Buffer.from(body),
      headers: { cseq: [`${cseq} NOTIFY`] },
    });
  }
}

const reginfo = (version: number, state: 'full' | 'partial', contacts: Array<[id: string, state: 'active' | 'terminated']>): string =>
  `<reginfo xmlns="urn:ietf:params:xml:ns:reginfo" version="${version}" state="${state}"><registration aor="${A}" id="r" state="active">` +
  contacts.map(([id, s]) => `<contact id="${id}" state="${s}" event="registered"><uri>sip:alice@h-${id}</uri></contact>`).join('') +
  '</registration></reginfo>';

function setup() {
  const engine = new FakeEngine();
  const table = new CapabilityTable({ maxUsers: 10, profile });
  const source = regSource(profile);
  const watcher = new PresenceWatcher({ engine: engine as unknown as SipEngine, table, profile, logger: silentLogger(), source });
  return { engine, table, source, oracle: new CapabilityOracle(table, [watcher]), watcher };
}

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe('the reg watcher (Event: reg through the same subscriber lifecycle)', () => {
  it('subscribes with Event: reg and answers from the first reginfo NOTIFY', async () => {
    const { engine, oracle } = setup();
    const decision = oracle.decide(A);
    await vi.advanceTimersByTimeAsync(0);
    expect(engine.subscribes.map((s) => [s.options.event, s.options.accept])).toEqual([['reg', ['application/reginfo+xml']]]);
    engine.notify(reginfo(0, 'full', [['c1', 'active']]), 2);
    expect(await decision).toMatchObject({ reachability: 'reachable', rule: 'reg-registered' });
  });

  it('a version gap is not applied: the state is set aside and the subscription refreshed for a full state', async () => {
    const { engine, table, source, oracle } = setup();
    const decision = oracle.decide(A);
    await vi.advanceTimersByTimeAsync(0);
    engine.notify(reginfo(0, 'full', [['c1', 'active']]), 2);
    await decision;
    engine.notify(reginfo(1, 'partial', [['c1', 'terminated']]), 3); // applies: c1 gone
    expect(table.decide(A).rule).toBe('reg-no-contact');
    engine.notify(reginfo(3, 'partial', [['c2', 'active']]), 4); // version 2 lost
    expect(engine.subscribes[0].refreshes).toBe(1);
    expect(table.decide(A).rule).not.toMatch(/^reg-/); // unknown, not a guessed state
    expect(table.hasFreshRegistration(A)).toBe(false);
    expect((source as ReturnType<typeof regSource>).stats.versionGaps).toBe(1);
    engine.notify(reginfo(4, 'full', [['c2', 'active']]), 5); // the refresh's full state
    expect(table.decide(A).rule).toBe('reg-registered');
  });

  it('a NOTIFY with an older CSeq (reordered) does not overwrite a newer state', async () => {
    const { engine, table, oracle } = setup();
    const decision = oracle.decide(A);
    await vi.advanceTimersByTimeAsync(0);
    engine.notify(reginfo(0, 'full', []), 5);
    await decision;
    engine.notify(reginfo(0, 'full', [['c1', 'active']]), 4);
    expect(table.decide(A).rule).toBe('reg-no-contact');
  });

  it('an empty NOTIFY (registrar published nothing) is no contact: unreachable at once', async () => {
    const { engine, oracle } = setup();
    const decision = oracle.decide(A);
    await vi.advanceTimersByTimeAsync(0);
    engine.notify('', 2);
    expect(await decision).toMatchObject({ reachability: 'unreachable', rule: 'reg-no-contact' });
  });
});

describe('SourceWatchers with a reg-only profile', () => {
  it('the watch list and a forced refresh subscribe Event: reg only, never presence', async () => {
    const engine = new FakeEngine();
    const table = new CapabilityTable({ maxUsers: 10, profile });
    const presence = new PresenceWatcher({ engine: engine as unknown as SipEngine, table, profile, logger: silentLogger() });
    const reg = new PresenceWatcher({
      engine: engine as unknown as SipEngine,
      table,
      profile,
      logger: silentLogger(),
      source: regSource(profile),
    });
    const sources = new SourceWatchers([presence, reg]);
    await sources.watch([A]);
    await sources.refresh('sip:bob@127.0.0.1');
    await vi.advanceTimersByTimeAsync(0);
    expect(engine.subscribes.map((s) => s.options.event)).toEqual(['reg', 'reg']);
  });
});

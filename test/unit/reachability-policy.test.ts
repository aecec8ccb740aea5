import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bearerHintFromPresence } from '../../src/capabilities/bearer-hint.js';
import { decideReachability, shouldTrySip, type ReachabilityInput } from '../../src/capabilities/reachability-policy.js';
import { parsePresence } from '../../src/presence/pidf-parser.js';
import type { PresenceDocument, PresenceSnapshot, PresenceTuple } from '../../src/capabilities/presence-snapshot.js';
import { loadProfile, validateProfile } from '../../src/profiles/load-profile.js';
import type { SipProfile } from '../../src/profiles/schema.js';

const NOW = 1_000_000;
const oma = loadProfile('oma-sip-push'); // basicOpenIsEnough: true, whenUnknown: try-sip
const ims = loadProfile('ims'); // basicOpenIsEnough: false, whenUnknown: hand-back

function withPresence(profile: SipProfile, presence: Partial<SipProfile['presence']>): SipProfile {
  return validateProfile({ ...profile, presence: { ...profile.presence, ...presence } });
}

const fixture = (name: string): PresenceSnapshot =>
  parsePresence(readFileSync(new URL(`../fixtures/pidf/${name}`, import.meta.url)), 'application/pidf+xml', { receivedAt: NOW - 10 });

function docWith(tuples: Partial<PresenceTuple>[], extra: Partial<PresenceDocument> = {}): PresenceDocument {
  return {
    kind: 'document',
    entity: 'sip:u@example.com',
    tuples: tuples.map((t, i) => ({ id: `t${i}`, pushApps: [], notes: [], ...t })),
    persons: [],
    devices: [],
    notes: [],
    warnings: [],
    receivedAt: NOW - 10,
    ...extra,
  };
}

const push = (t: Partial<PresenceTuple> = {}): Partial<PresenceTuple> => ({
  basic: 'open',
  service: { serviceId: 'org.openmobilealliance:Push' },
  ...t,
});

function decide(input: Partial<ReachabilityInput>, profile = oma) {
  return decideReachability({ now: NOW, ...input }, profile);
}

describe('decideReachability: delivery evidence', () => {
  it('hold-down wins over an open push service', () => {
    const d = decide({
      snapshot: fixture('oma-push-open.xml'),
      holdDownUntil: NOW + 1,
      lastDelivery: { outcome: 'failed', status: 480, at: NOW - 1 },
    });
    expect(d).toMatchObject({ reachability: 'unreachable', rule: 'hold-down', bearerHint: 'SMS' });
  });

  it('an expired hold-down no longer applies', () => {
    expect(decide({ snapshot: fixture('oma-push-open.xml'), holdDownUntil: NOW }).rule).toBe('push-service-open');
  });

  it('a delivery newer than the document beats a closed document; an older one does not', () => {
    const closed = fixture('all-closed.xml');
    expect(decide({ snapshot: closed, lastDelivery: { outcome: 'delivered', at: NOW - 5 } }).rule).toBe('delivered');
    expect(decide({ snapshot: closed, lastDelivery: { outcome: 'delivered', at: NOW - 50 } }).rule).toBe('push-service-blocked');
    expect(decide({ lastDelivery: { outcome: 'delivered', at: NOW - 50 } }).reachability).toBe('reachable');
  });
});

describe('decideReachability: no usable presence', () => {
  it('distinguishes no NOTIFY, first-NOTIFY timeout and an empty NOTIFY, all unknown', () => {
    expect(decide({})).toMatchObject({ reachability: 'unknown', rule: 'no-presence', acceptedApps: 'any', bearerHint: 'SMS' });
    expect(decide({ firstNotifyTimedOut: true }).rule).toBe('first-notify-timeout');
    expect(decide({ snapshot: { kind: 'empty', receivedAt: NOW } })).toMatchObject({ reachability: 'unknown', rule: 'nothing-published' });
  });

  it('presence disabled → unknown, whatever the snapshot says', () => {
    const off = withPresence(oma, { enabled: false });
    expect(decide({ snapshot: fixture('all-closed.xml') }, off)).toMatchObject({ reachability: 'unknown', rule: 'presence-disabled' });
  });

  it('noresource → unreachable, rejected → unknown (only without a document)', () => {
    expect(decide({ presenceRefusal: 'noresource' }).reachability).toBe('unreachable');
    expect(decide({ presenceRefusal: 'rejected' })).toMatchObject({ reachability: 'unknown', rule: 'rejected' });
    expect(decide({ presenceRefusal: 'rejected', snapshot: fixture('oma-push-open.xml') }).reachability).toBe('reachable');
  });

  it('a document with no tuples is unknown', () => {
    expect(decide({ snapshot: fixture('person-only.xml') })).toMatchObject({ reachability: 'unknown', rule: 'no-tuples' });
  });
});

describe('decideReachability: presence documents', () => {
  it('the full OMA push-open example → reachable on the push service', () => {
    expect(decide({ snapshot: fixture('oma-push-open.xml') })).toMatchObject({
      reachability: 'reachable',
      rule: 'push-service-open',
      acceptedApps: 'any',
    });
  });

  it('push service ids come from the profile', () => {
    const other = withPresence(oma, { pushServiceIds: ['com.example:push'] });
    expect(decide({ snapshot: fixture('oma-push-open.xml') }, other).rule).toBe('message-capable');
  });

  it('accepted apps are collected from usable push tuples', () => {
    expect(decide({ snapshot: fixture('carrier-multi-service.xml') }, ims)).toMatchObject({
      reachability: 'reachable',
      acceptedApps: ['wml.ua', 'mms.ua'],
      bearerHint: 'SMS',
    });
  });

  it.each([
    ['willingness closed', { willingness: 'closed' as const }],
    ['barring active', { barringState: 'active' as const }],
    ['registration terminated', { registrationState: 'terminated' as const }],
    ['basic closed', { basic: 'closed' as const }],
    [
      'MESSAGE notsupported',
      { caps: { methods: { supported: [], notsupported: ['MESSAGE'] }, eventPackages: { supported: [], notsupported: [] }, media: {} } },
    ],
  ])('a push tuple with %s is blocked → unreachable', (_label, t) => {
    expect(decide({ snapshot: docWith([push(t)]) })).toMatchObject({ reachability: 'unreachable', rule: 'push-service-blocked' });
  });

  it('one open push tuple among closed ones (several devices) → reachable', () => {
    expect(decide({ snapshot: fixture('several-devices-push-open-on-one.xml') }).reachability).toBe('reachable');
  });

  it('a closed push service is not rescued by an open IM service', () => {
    expect(decide({ snapshot: fixture('push-closed-im-open.xml') }).rule).toBe('push-service-blocked');
  });

  it('overriding-willingness closed → unreachable even with an open push service', () => {
    const d = docWith([push()], { persons: [{ id: 'p', overridingWillingness: 'closed', activities: [], notes: [] }] });
    expect(decide({ snapshot: d }).rule).toBe('overriding-willingness-closed');
  });

  it('IMS terminated on every device → unreachable with an SMS hint from the GSM network', () => {
    expect(decide({ snapshot: fixture('sms-only-ims-down.xml') })).toMatchObject({ rule: 'ims-network-down', bearerHint: 'SMS' });
  });

  it('baresip-like open tuple: reachable only when basicOpenIsEnough', () => {
    const snapshot = fixture('baresip.xml');
    expect(decide({ snapshot }, oma)).toMatchObject({ reachability: 'reachable', rule: 'basic-open' });
    expect(decide({ snapshot }, ims)).toMatchObject({ reachability: 'unreachable', rule: 'open-not-push-capable' });
  });

  it('caps MESSAGE supported is enough even when basic=open is not', () => {
    const snapshot = docWith([
      {
        basic: 'open',
        contact: 'sip:u@h',
        caps: { methods: { supported: ['MESSAGE'], notsupported: [] }, eventPackages: { supported: [], notsupported: [] }, media: {} },
      },
    ]);
    expect(decide({ snapshot }, ims).rule).toBe('message-capable');
  });

  it('MESSAGE notsupported on the only open tuple → unreachable', () => {
    expect(decide({ snapshot: fixture('caps-message-notsupported.xml') })).toMatchObject({
      reachability: 'unreachable',
      rule: 'all-closed',
    });
  });

  it('all closed, Kamailio closed document and a tel:-only open service → unreachable', () => {
    expect(decide({ snapshot: fixture('all-closed.xml') }).rule).toBe('push-service-blocked');
    expect(decide({ snapshot: fixture('kamailio-publication-removed.xml') }).rule).toBe('all-closed');
    expect(decide({ snapshot: docWith([{ basic: 'open', contact: 'tel:+15551234' }]) })).toMatchObject({
      rule: 'all-closed',
      bearerHint: 'SMS',
    });
  });
});

describe('bearer hint', () => {
  it('falls back to handBack.defaultBearer', () => {
    const mms = validateProfile({ ...oma, handBack: { defaultBearer: 'OTA-HTTP' } });
    expect(decide({ snapshot: fixture('all-closed.xml') }, mms).bearerHint).toBe('OTA-HTTP');
  });

  it('reads other services and networks, by contact priority', () => {
    expect(bearerHintFromPresence(docWith([{ basic: 'open', service: { serviceId: 'com.example.mms' } }]))).toBe('MMS');
    expect(bearerHintFromPresence(docWith([{ basic: 'open', contact: 'https://ota.example.com/u' }]))).toBe('OTA-HTTP');
    expect(bearerHintFromPresence(docWith([{ basic: 'closed', contact: 'tel:+1' }]))).toBeUndefined();
    const both = docWith([
      { basic: 'open', contact: 'tel:+1', priority: 0.2 },
      { basic: 'open', contact: 'mms:+1', priority: 0.9 },
    ]);
    expect(bearerHintFromPresence(both)).toBe('MMS');
    const lte = docWith([], {
      devices: [
        {
          id: 'd',
          networks: [
            { id: 'IMS', state: 'terminated' },
            { id: 'LTE', state: 'active' },
          ],
          mobility: [],
          notes: [],
        },
      ],
    });
    expect(bearerHintFromPresence(lte)).toBe('OTA-HTTP');
  });
});

describe('shouldTrySip', () => {
  it('applies whenUnknown to unknown decisions only', () => {
    const unknown = decide({});
    expect(shouldTrySip(unknown, oma)).toBe(true);
    expect(shouldTrySip(unknown, ims)).toBe(false);
    expect(shouldTrySip(decide({ snapshot: fixture('all-closed.xml') }), oma)).toBe(false);
    expect(shouldTrySip(decide({ snapshot: fixture('oma-push-open.xml') }), ims)).toBe(true);
  });
});

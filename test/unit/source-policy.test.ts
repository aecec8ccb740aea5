import { describe, expect, it } from 'vitest';
import { decideFromSources, type SourcesInput } from '../../src/capabilities/source-policy.js';
import type { PresenceDocument, PresenceTuple } from '../../src/capabilities/presence-snapshot.js';
import { loadProfile, validateProfile } from '../../src/profiles/load-profile.js';
import type { SipProfile } from '../../src/profiles/schema.js';
import type { BoundContact, RegistrationEvidence } from '../../src/capabilities/registration-evidence.js';

const NOW = 1_000_000;
const TAG = '+g.oma.pusheventapp';
const ims = loadProfile('ims'); // sources presence+reg, registrationIsEnough false, basicOpenIsEnough false
const lab = loadProfile('kamailio-lab'); // sources presence+reg, registrationIsEnough true
const omaOnly = loadProfile('oma-sip-push'); // sources presence
const regOnly: SipProfile = validateProfile({ ...ims, sources: ['reg'] });

const contact = (params: Record<string, string> = {}, expiresAt?: number): BoundContact => ({
  uri: 'sip:u@10.0.0.1',
  params,
  ...(expiresAt === undefined ? {} : { expiresAt }),
});
const registered = (...contacts: BoundContact[]): RegistrationEvidence => ({ receivedAt: NOW - 100, contacts, empty: false });
const nothingPublished: RegistrationEvidence = { receivedAt: NOW - 100, contacts: [], empty: true };

function doc(tuples: Partial<PresenceTuple>[], extra: Partial<PresenceDocument> = {}): PresenceDocument {
  return {
    kind: 'document',
    entity: 'sip:u@x',
    tuples: tuples.map((t, i) => ({ id: `t${i}`, pushApps: [], notes: [], ...t })),
    persons: [],
    devices: [],
    notes: [],
    warnings: [],
    receivedAt: NOW - 50,
    ...extra,
  };
}
const pushOpen = doc([{ basic: 'open', service: { serviceId: 'org.openmobilealliance:Push' }, pushApps: ['ua-mms'] }]);
const pushClosed = doc([{ basic: 'closed', service: { serviceId: 'org.openmobilealliance:Push' } }]);
const personClosed = doc([{ basic: 'open' }], { persons: [{ id: 'p', overridingWillingness: 'closed', activities: [], notes: [] }] });
const openNoPush = doc([{ basic: 'open' }]);

type Case = [
  name: string,
  profile: SipProfile,
  input: Omit<SourcesInput, 'now'>,
  reachability: string,
  rule: string,
  apps?: string[] | 'any',
];

// One row per rule of src/capabilities/source-policy.ts (and the fall-backs to the presence policy).
const cases: Case[] = [
  [
    'hold-down beats a registered push contact',
    ims,
    { holdDownUntil: NOW + 5000, registration: registered(contact({ [TAG]: '' })) },
    'unreachable',
    'hold-down',
  ],
  [
    'profile without reg: registration ignored',
    omaOnly,
    { registration: nothingPublished, snapshot: pushOpen },
    'reachable',
    'push-service-open',
    ['ua-mms'],
  ],
  ['no registration state yet: presence alone', ims, { snapshot: pushOpen }, 'reachable', 'push-service-open', ['ua-mms']],
  ['no registration state, no presence: unknown', ims, {}, 'unknown', 'no-presence'],
  [
    'resynchronising after a gap: presence alone',
    ims,
    { registration: nothingPublished, registrationResyncing: true },
    'unknown',
    'no-presence',
  ],
  [
    'delivered after the registration state',
    ims,
    { registration: registered(), lastDelivery: { outcome: 'delivered', status: 200, at: NOW - 10 } },
    'reachable',
    'delivered',
  ],
  [
    'delivered before the registration state went empty',
    ims,
    { registration: registered(), lastDelivery: { outcome: 'delivered', status: 200, at: NOW - 500 } },
    'unreachable',
    'reg-no-contact',
  ],
  ['no contact bound', ims, { registration: registered() }, 'unreachable', 'reg-no-contact'],
  ['registrar published nothing', lab, { registration: nothingPublished }, 'unreachable', 'reg-no-contact'],
  ['only contact expired by now (no NOTIFY yet)', lab, { registration: registered(contact({}, NOW - 1)) }, 'unreachable', 'reg-no-contact'],
  ['no contact beats open presence', ims, { registration: registered(), snapshot: pushOpen }, 'unreachable', 'reg-no-contact'],
  [
    'presence veto: push service closed',
    ims,
    { registration: registered(contact({ [TAG]: '"ua-wml"' })), snapshot: pushClosed },
    'unreachable',
    'presence-veto',
  ],
  [
    'presence veto: overriding willingness closed',
    lab,
    { registration: registered(contact()), snapshot: personClosed },
    'unreachable',
    'presence-veto',
  ],
  [
    'push tag on one of two contacts',
    ims,
    { registration: registered(contact(), contact({ [TAG]: '"ua-wml,ua-mms"' })) },
    'reachable',
    'reg-push-tag',
    ['ua-wml', 'ua-mms'],
  ],
  [
    'push tag without a value accepts any app',
    ims,
    { registration: registered(contact({ [TAG]: '' })) },
    'reachable',
    'reg-push-tag',
    'any',
  ],
  [
    'push tag widened by presence apps',
    ims,
    { registration: registered(contact({ [TAG]: 'ua-wml' })), snapshot: pushOpen },
    'reachable',
    'reg-push-tag',
    ['ua-wml', 'ua-mms'],
  ],
  [
    'push tag and open-but-not-push presence (no veto)',
    ims,
    { registration: registered(contact({ [TAG]: 'ua-wml' })), snapshot: openNoPush },
    'reachable',
    'reg-push-tag',
    ['ua-wml'],
  ],
  ['registration is enough (lab)', lab, { registration: registered(contact()) }, 'reachable', 'reg-registered', 'any'],
  [
    'reg-only profile, tag required, contact without tag',
    regOnly,
    { registration: registered(contact()) },
    'unreachable',
    'reg-not-push-capable',
  ],
  [
    'registered without tag, presence says push service open',
    ims,
    { registration: registered(contact()), snapshot: pushOpen },
    'reachable',
    'push-service-open',
    ['ua-mms'],
  ],
  [
    'registered without tag, presence open but not push-capable',
    ims,
    { registration: registered(contact()), snapshot: openNoPush },
    'unreachable',
    'reg-not-push-capable',
  ],
];

describe('decideFromSources: registration state combined with presence', () => {
  it.each(cases)('%s', (_name, profile, input, reachability, rule, apps) => {
    const decision = decideFromSources({ now: NOW, ...input }, profile);
    expect({ reachability: decision.reachability, rule: decision.rule }).toEqual({ reachability, rule });
    if (apps !== undefined) expect(decision.acceptedApps).toEqual(apps);
    expect(decision.reason).not.toBe('');
  });

  it('keeps presence’s bearer hint', () => {
    const smsPresence = doc([{ basic: 'open', service: { serviceId: 'org.3gpp.smsip', description: 'SMS' } }]);
    const decision = decideFromSources(
      { now: NOW, registration: registered(), snapshot: smsPresence },
      { ...ims, handBack: { defaultBearer: 'OTA-HTTP' } },
    );
    expect(decision).toMatchObject({ rule: 'reg-no-contact', bearerHint: 'SMS' });
  });
});

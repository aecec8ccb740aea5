import { describe, expect, it } from 'vitest';
import type { Registration, ReginfoDocument } from '../../src/registration/reginfo-document.js';
import { boundContacts, pushAppsOfContact } from '../../src/capabilities/registration-evidence.js';
import { applyReginfo, evidenceOf, type RegistrationView } from '../../src/registration/registration-sequence.js';

const contact = (id: string, state: 'active' | 'terminated', expires?: number) => ({
  id,
  state,
  uri: `sip:u@${id}`,
  params: {},
  ...(expires === undefined ? {} : { expires }),
});
const reg = (contacts: Registration['contacts'], state: Registration['state'] = 'active'): Registration => ({
  aor: 'sip:u@x',
  id: 'r',
  state,
  contacts,
});
const docOf = (version: number, state: 'full' | 'partial', registrations: Registration[], receivedAt = 1000): ReginfoDocument => ({
  kind: 'document',
  version,
  state,
  registrations,
  warnings: [],
  receivedAt,
});
const applied = (out: ReturnType<typeof applyReginfo>): RegistrationView => {
  if (out.kind !== 'applied') throw new Error(`expected applied, got ${out.kind}: ${out.reason}`);
  return out.view;
};

describe('applyReginfo: full and partial notifications (RFC 3680 §5.2)', () => {
  const full0 = applied(applyReginfo(undefined, docOf(0, 'full', [reg([contact('a', 'active'), contact('b', 'active')])]), 2));

  it('a partial with the next version updates only the contacts it names', () => {
    const next = applied(applyReginfo(full0, docOf(1, 'partial', [reg([contact('a', 'terminated'), contact('c', 'active')])]), 3));
    expect(next.registrations[0].contacts.map((c) => [c.id, c.state])).toEqual([
      ['a', 'terminated'],
      ['b', 'active'],
      ['c', 'active'],
    ]);
    expect(next.version).toBe(1);
  });

  it('a version gap is reported, never applied', () => {
    const out = applyReginfo(full0, docOf(3, 'partial', [reg([contact('a', 'terminated')])]), 3);
    expect(out.kind).toBe('gap');
  });

  it('a partial with nothing to apply to (first NOTIFY) is a gap', () => {
    expect(applyReginfo(undefined, docOf(5, 'partial', []), 1).kind).toBe('gap');
  });

  it('a duplicate or older partial is stale', () => {
    expect(applyReginfo(full0, docOf(0, 'partial', []), 3).kind).toBe('stale');
  });

  it('a NOTIFY with a CSeq not above the last one is stale (reordered or retransmitted)', () => {
    expect(applyReginfo(full0, docOf(7, 'full', []), 2).kind).toBe('stale');
    expect(applyReginfo(full0, docOf(7, 'full', []), 1).kind).toBe('stale');
  });

  it('a full state with the same version but a newer CSeq is applied (Kamailio sends version 0 every time)', () => {
    const again = applied(applyReginfo(full0, docOf(0, 'full', [reg([])]), 3));
    expect(again.registrations[0].contacts).toEqual([]);
  });

  it('without CSeqs, a full state with a lower version is stale, an equal or higher one applies', () => {
    const v2 = applied(applyReginfo(undefined, docOf(2, 'full', [])));
    expect(applyReginfo(v2, docOf(1, 'full', [])).kind).toBe('stale');
    expect(applyReginfo(v2, docOf(2, 'full', [])).kind).toBe('applied');
  });

  it('an empty NOTIFY is a state without contacts; the next full state applies after it', () => {
    const empty = applied(applyReginfo(full0, { kind: 'empty', receivedAt: 5 }, 3));
    expect(empty).toMatchObject({ empty: true, registrations: [], version: -1 });
    expect(applyReginfo(empty, docOf(0, 'full', []), 4).kind).toBe('applied');
  });
});

describe('registration evidence', () => {
  it('keeps active contacts of active registrations, with when each binding runs out', () => {
    const view = applied(
      applyReginfo(
        undefined,
        docOf(
          0,
          'full',
          [reg([contact('a', 'active', 60), contact('b', 'terminated')]), { ...reg([contact('z', 'active')], 'terminated'), id: 'r2' }],
          1000,
        ),
      ),
    );
    const evidence = evidenceOf(view);
    expect(evidence.contacts).toEqual([{ uri: 'sip:u@a', expiresAt: 61_000, params: {} }]);
    expect(boundContacts(evidence, 60_999)).toHaveLength(1);
    expect(boundContacts(evidence, 61_000)).toHaveLength(0);
  });

  it('reads the push applications of the feature tag', () => {
    const c = { uri: 'sip:u@h', params: { '+g.oma.pusheventapp': 'ua-wml, "ua-mms"' } };
    expect(pushAppsOfContact(c, '+g.oma.pusheventapp')).toEqual(['ua-wml', 'ua-mms']);
    expect(pushAppsOfContact({ uri: 'sip:u@h', params: { '+g.oma.pusheventapp': '' } }, '+G.OMA.PUSHEVENTAPP')).toEqual([]);
    expect(pushAppsOfContact({ uri: 'sip:u@h', params: {} }, '+g.oma.pusheventapp')).toBeUndefined();
  });
});

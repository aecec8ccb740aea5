/**
 * Full and partial reg notifications in order (RFC 3680 §5.2, pure): the last applied state of one
 * subscription, and what a new document does to it.
 *
 * - `full` replaces the state. It is dropped as stale only when it is older: a lower NOTIFY CSeq in the
 *   same dialog when both are known (RFC 3261 §12.2.2: CSeq orders requests of a dialog), else a lower
 *   `version`. An equal version is applied: Kamailio 5.6 (`presence_reginfo` relaying `pua_reginfo`)
 *   sends `version="0" state="full"` in every NOTIFY, so a strict "must grow" rule would freeze the
 *   first state forever.
 * - `partial` applies on top of the last state only when its version is exactly one higher. A lower or
 *   equal version is a duplicate or reordered NOTIFY (dropped). A higher one means NOTIFYs were lost: the
 *   state is *not* guessed — the caller refreshes the subscription, which makes the notifier send a full
 *   state (RFC 3680 §5.2, RFC 6665 §4.2.1.2), and counts the user as unknown until it arrives. A partial
 *   with no state to apply to (first NOTIFY of a dialog) is a gap too.
 * - An empty body (nothing published for the AOR, see reginfo-document.ts) is a state without contacts.
 *
 * A new subscription dialog starts from no state (versions are per subscription).
 */
import type { BoundContact, RegistrationEvidence } from '../capabilities/registration-evidence.js';
import type { Registration, RegContact, ReginfoSnapshot } from './reginfo-document.js';

export interface RegistrationView {
  /** Version of the last applied document; -1 after an empty NOTIFY. */
  version: number;
  /** CSeq of the NOTIFY that carried it, when known. */
  cseq?: number;
  registrations: Registration[];
  /** True when the last NOTIFY had no body (nothing published). */
  empty: boolean;
  receivedAt: number;
}

export type ApplyOutcome =
  | { kind: 'applied'; view: RegistrationView }
  | { kind: 'stale'; reason: string }
  | { kind: 'gap'; reason: string };

/** Applies one parsed NOTIFY body (with the NOTIFY's CSeq number, when known) to the last state. */
export function applyReginfo(previous: RegistrationView | undefined, snapshot: ReginfoSnapshot, cseq?: number): ApplyOutcome {
  if (previous?.cseq !== undefined && cseq !== undefined && cseq <= previous.cseq) {
    return { kind: 'stale', reason: `NOTIFY CSeq ${cseq} not above ${previous.cseq}` };
  }
  const stamp = cseq === undefined ? {} : { cseq };
  if (snapshot.kind === 'empty') {
    return { kind: 'applied', view: { version: -1, registrations: [], empty: true, receivedAt: snapshot.receivedAt, ...stamp } };
  }
  const { version, receivedAt } = snapshot;
  if (snapshot.state === 'full') {
    if (previous && cseq === undefined && version < previous.version) {
      return { kind: 'stale', reason: `full version ${version} below ${previous.version}` };
    }
    return { kind: 'applied', view: { version, registrations: snapshot.registrations, empty: false, receivedAt, ...stamp } };
  }
  if (!previous) return { kind: 'gap', reason: `partial version ${version} with no full state to apply it to` };
  if (version <= previous.version) return { kind: 'stale', reason: `partial version ${version} not above ${previous.version}` };
  if (version > previous.version + 1)
    return { kind: 'gap', reason: `partial version ${version} after ${previous.version}: notifications lost` };
  const registrations = mergeRegistrations(previous.registrations, snapshot.registrations);
  return { kind: 'applied', view: { version, registrations, empty: false, receivedAt, ...stamp } };
}

/** A partial document's registrations and contacts replace those with the same id; others stay. */
function mergeRegistrations(base: Registration[], changes: Registration[]): Registration[] {
  const merged = base.map((r) => ({ ...r, contacts: [...r.contacts] }));
  for (const change of changes) {
    const target = merged.find((r) => r.id === change.id);
    if (!target) {
      merged.push({ ...change, contacts: [...change.contacts] });
      continue;
    }
    target.state = change.state;
    target.aor = change.aor;
    for (const contact of change.contacts) replaceContact(target.contacts, contact);
  }
  return merged;
}

function replaceContact(contacts: RegContact[], contact: RegContact): void {
  const at = contacts.findIndex((c) => c.id === contact.id);
  if (at < 0) contacts.push(contact);
  else contacts[at] = contact;
}

/** The evidence of a registration view: active contacts of active registrations only (RFC 3680 §5.3). */
export function evidenceOf(view: RegistrationView): RegistrationEvidence {
  const contacts: BoundContact[] = [];
  for (const registration of view.registrations) {
    if (registration.state !== 'active') continue;
    for (const contact of registration.contacts) {
      if (contact.state !== 'active') continue;
      const bound: BoundContact = { uri: contact.uri, params: contact.params };
      if (contact.expires !== undefined) bound.expiresAt = view.receivedAt + contact.expires * 1000;
      contacts.push(bound);
    }
  }
  return { receivedAt: view.receivedAt, contacts, empty: view.empty };
}

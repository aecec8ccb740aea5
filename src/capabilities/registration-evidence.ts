/**
 * What the capability table keeps from a user's registration state (pure): the contacts that are bound
 * now, each with the instant its binding runs out, and their Contact parameters (feature tags).
 */
import type { RegistrationView } from '../registration/registration-sequence.js';

export interface BoundContact {
  uri: string;
  /** When the binding runs out (receivedAt + `expires`), when the registrar said. */
  expiresAt?: number;
  /** Contact parameters, lower-case names (see `RegContact.params`). */
  params: Record<string, string>;
}

export interface RegistrationEvidence {
  receivedAt: number;
  /** Contacts in state `active` of registrations in state `active`. */
  contacts: BoundContact[];
  /** The registrar published nothing for the AOR (empty NOTIFY). */
  empty: boolean;
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

/** Contacts still bound at `now` (a binding past its expiry counts as gone even before a NOTIFY says so). */
export function boundContacts(evidence: RegistrationEvidence, now: number): BoundContact[] {
  return evidence.contacts.filter((c) => c.expiresAt === undefined || c.expiresAt > now);
}

/**
 * Push application ids a contact's `+g.oma.pusheventapp` tag lists (OMA SIP Push §5.2.2: a quoted,
 * comma-separated list), `[]` for the bare tag, undefined without the tag.
 */
export function pushAppsOfContact(contact: BoundContact, tag: string): string[] | undefined {
  const value = contact.params[tag.toLowerCase()];
  if (value === undefined) return undefined;
  return value
    .split(',')
    .map((a) => a.trim().replace(/^"|"$/g, ''))
    .filter((a) => a !== '');
}

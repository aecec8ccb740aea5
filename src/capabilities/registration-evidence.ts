/**
 * What the capability table keeps from a user's registration state (pure): the contacts that are bound
 * now, each with the instant its binding runs out, and their Contact parameters (feature tags). The
 * registration watcher (src/registration/) builds it from reginfo documents.
 */

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

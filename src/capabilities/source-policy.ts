/**
 * Combining the capability sources (pure): the presence decision of reachability-policy.ts with the
 * registration state (RFC 3680 reg event), when the profile's `sources` include `reg`.
 *
 * Rules, first match wins (each with its reason; docs/architecture.md "Capability sources" has the table):
 *  1. `hold-down` — a recent delivery failure beats every hint (our own MESSAGE is the best evidence).
 *  2. No `reg` source, no fresh registration state, or a gap being resynchronised → the presence
 *     decision alone (a state that may be wrong is not used: RFC 3680 §5.2).
 *  3. `delivered` — a 2xx to our MESSAGE newer than the registration state → reachable.
 *  4. `reg-no-contact` — no contact is bound now (none active, the last one expired or unregistered, or
 *     the registrar published nothing) → unreachable: a MESSAGE could only be answered 480/404, so the
 *     push is handed back at once without any SIP.
 *  5. `presence-veto` — contacts are bound, but fresh presence says the user refuses or cannot take the
 *     push (overriding willingness closed, IMS network down, push service blocked, every service closed)
 *     → unreachable: registration says the device is there, presence says what its owner wants.
 *  6. `reg-push-tag` — a bound contact carries the push feature tag (`registration.pushAppTag`, RFC 3840
 *     parameter) → reachable; accepted apps are the tag's values (with presence's, when presence too
 *     says reachable), `any` for a bare tag. The core routes by the same tag (Accept-Contact, RFC 3841).
 *  7. `reg-registered` — bound contacts without the tag, and `registration.registrationIsEnough` →
 *     reachable (for registrars that do not report feature tags).
 *  8. Presence says reachable (a push service or MESSAGE capability) → that decision: presence widens
 *     what a tag-less registration says.
 *  9. `reg-not-push-capable` — bound contacts, none advertising push, nothing else says yes → unreachable.
 * The bearer hint is presence's (or the profile default) in every case.
 */
import type { SipProfile } from '../profiles/schema.js';
import { boundContacts, pushAppsOfContact, type RegistrationEvidence } from './registration-evidence.js';
import type { ReachabilityVerdict } from './reachability-oracle.js';
import { decideReachability, type ReachabilityInput, type ReachabilityRule } from './reachability-policy.js';

export interface SourcesInput extends ReachabilityInput {
  /** Fresh registration state, when the reg source has one. */
  registration?: RegistrationEvidence;
  /** A version gap is being resynchronised: the registration state is not to be used. */
  registrationResyncing?: boolean;
}

/** Presence rules that say "do not push now" whatever the registrar knows. */
const PRESENCE_VETOES: ReadonlySet<ReachabilityRule> = new Set([
  'overriding-willingness-closed',
  'ims-network-down',
  'push-service-blocked',
  'all-closed',
]);

export function decideFromSources(input: SourcesInput, profile: SipProfile): ReachabilityVerdict {
  const base = decideReachability(input, profile);
  const registration = input.registration;
  if (base.rule === 'hold-down' || !profile.sources.includes('reg') || !registration || input.registrationResyncing) return base;
  const decide = (
    reachability: ReachabilityVerdict['reachability'],
    rule: ReachabilityRule,
    reason: string,
    apps: string[] | 'any' = 'any',
  ): ReachabilityVerdict => ({
    reachability,
    acceptedApps: apps,
    bearerHint: base.bearerHint,
    reason,
    rule,
  });
  const delivery = input.lastDelivery;
  if (delivery?.outcome === 'delivered' && delivery.at >= registration.receivedAt) {
    return decide('reachable', 'delivered', 'the last MESSAGE was delivered (newer than the registration state)');
  }
  const bound = boundContacts(registration, input.now);
  if (bound.length === 0) {
    const why = registration.empty ? 'the registrar published no registration' : 'no contact is registered';
    return decide('unreachable', 'reg-no-contact', why);
  }
  if (base.rule !== undefined && PRESENCE_VETOES.has(base.rule))
    return decide('unreachable', 'presence-veto', `registered, but presence says: ${base.reason}`);
  const tag = profile.registration.pushAppTag;
  const tagged = bound.map((c) => pushAppsOfContact(c, tag)).filter((apps): apps is string[] => apps !== undefined);
  const presenceApps = base.reachability === 'reachable' && base.acceptedApps !== 'any' ? base.acceptedApps : [];
  if (tagged.length > 0) {
    const apps = tagged.some((list) => list.length === 0) ? 'any' : [...new Set([...tagged.flat(), ...presenceApps])];
    return decide('reachable', 'reg-push-tag', `${tagged.length} of ${bound.length} registered contacts carry ${tag}`, apps);
  }
  if (profile.registration.registrationIsEnough) {
    return decide('reachable', 'reg-registered', `${bound.length} contact(s) registered`, presenceApps.length ? presenceApps : 'any');
  }
  if (base.reachability === 'reachable') return base;
  return decide('unreachable', 'reg-not-push-capable', `${bound.length} contact(s) registered, none with ${tag}`);
}

/**
 * What the capability table keeps of a presence document: only what the decision and the admin view
 * need — the document's own verdict (rules 6–12 of reachability-policy.ts, reason and accepted apps
 * included), the bearer hint it supports, its digest and newest `<timestamp>` (is a later document
 * new?), and the entity, tuple count and warnings the admin view shows. The parsed document itself is
 * dropped after the NOTIFY.
 *
 * Every string is copied out of the parse (`own()`): a substring of the NOTIFY text — a tuple id in a
 * reason, the entity — would otherwise keep the whole NOTIFY alive for as long as the entry lives
 * (V8 sliced and cons strings point into their parent).
 */
import { ownString as own } from '../lib/own-string.js';
import type { SipProfile } from '../profiles/schema.js';
import { bearerHintFromPresence } from './bearer-hint.js';
import type { PresenceDocument, PresenceSummary } from './presence-snapshot.js';
import { documentVerdict } from './reachability-policy.js';

const NO_WARNINGS: readonly string[] = Object.freeze([]);

export function summarisePresence(doc: PresenceDocument, profile: SipProfile, aor?: string): PresenceSummary {
  const verdict = documentVerdict(doc, profile);
  // One literal with every field (one object shape, all fields in-object); strings copied (see above).
  return {
    kind: 'summary',
    receivedAt: doc.receivedAt,
    reachability: verdict.reachability,
    rule: verdict.rule,
    reason: own(verdict.reason),
    acceptedApps: verdict.acceptedApps === 'any' ? 'any' : Object.freeze(verdict.acceptedApps.map(own)),
    bearerHint: bearerHintFromPresence(doc),
    digest: doc.digest === undefined ? undefined : own(doc.digest),
    newestTimestamp: doc.newestTimestamp,
    entity: doc.entity === aor ? undefined : own(doc.entity),
    tuples: doc.tuples.length,
    warnings: doc.warnings.length === 0 ? NO_WARNINGS : Object.freeze(doc.warnings.map(own)),
  };
}

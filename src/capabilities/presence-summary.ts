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
import type { SipProfile } from '../profiles/schema.js';
import { bearerHintFromPresence } from './bearer-hint.js';
import type { PresenceDocument, PresenceSummary } from './presence-snapshot.js';
import { documentVerdict } from './reachability-policy.js';

const NO_WARNINGS: readonly string[] = Object.freeze([]);

/** A flat copy of `s` that shares no memory with the string it came from. */
export function own(s: string): string {
  return Buffer.from(s, 'utf8').toString('utf8');
}

export function summarisePresence(doc: PresenceDocument, profile: SipProfile, aor?: string): PresenceSummary {
  const verdict = documentVerdict(doc, profile);
  const summary: PresenceSummary = {
    kind: 'summary',
    receivedAt: doc.receivedAt,
    reachability: verdict.reachability,
    rule: verdict.rule,
    reason: own(verdict.reason),
    acceptedApps: verdict.acceptedApps === 'any' ? 'any' : Object.freeze(verdict.acceptedApps.map(own)),
    tuples: doc.tuples.length,
    warnings: doc.warnings.length === 0 ? NO_WARNINGS : Object.freeze(doc.warnings.map(own)),
  };
  const hint = bearerHintFromPresence(doc);
  if (hint !== undefined) summary.bearerHint = hint;
  if (doc.digest !== undefined) summary.digest = own(doc.digest);
  if (doc.newestTimestamp !== undefined) summary.newestTimestamp = doc.newestTimestamp;
  if (doc.entity !== aor) summary.entity = own(doc.entity);
  return summary;
}

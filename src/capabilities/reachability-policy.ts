/**
 * The reachability policy (pure): from what the agent knows about a user, decide whether a push should
 * go out as a SIP MESSAGE now (step 3 of a push; the patent's "obtain client information, then
 * select the bearer").
 *
 * Rules, first match wins (`rule` names each one; `reason` says it in words):
 *  1. `hold-down`        — a recent delivery failed (404/408/480/timeout...) and `holdDownUntil` is in the
 *                          future → unreachable.
 *  2. `delivered`        — the last MESSAGE got a 2xx and it is newer than the presence document (or
 *                          there is none) → reachable: fresh proof beats an older hint.
 *  3. `presence-disabled`— `presence.enabled: false` → unknown.
 *  4. `noresource` / `rejected` — the presence server said the resource does not exist (unreachable) or
 *                          refused our subscription (unknown: authorisation says nothing about the device).
 *  5. `no-presence` / `first-notify-timeout` / `nothing-published` — no NOTIFY yet, none within
 *                          `firstNotifyWaitMs`, or only an empty NOTIFY (RFC 6665 "no state") → unknown.
 *  6. `overriding-willingness-closed` — a person says `<op:overriding-willingness>` closed → unreachable.
 *  7. `ims-network-down` — every device that reports the IMS network reports it terminated → unreachable.
 *  8. `push-service-open` — a tuple whose service-id is in `presence.pushServiceIds` is usable → reachable.
 *     A tuple is *usable* when `basic=open`, OMA willingness is not closed, barring-state is not active,
 *     registration-state is not terminated, and caps do not list MESSAGE as `notsupported`.
 *     `push-service-blocked` — push tuples exist but none is usable → unreachable.
 *  9. `message-capable`  — (no push tuple) a usable SIP tuple lists MESSAGE as supported in
 *                          `<caps:methods>` (RFC 5196; docs/standards.md §4.3) → reachable.
 * 10. `basic-open`       — (no push tuple) a usable SIP tuple exists → reachable if
 *                          `presence.basicOpenIsEnough`, else `open-not-push-capable` → unreachable.
 * 11. `all-closed`       — tuples exist, none usable over SIP → unreachable.
 * 12. `no-tuples`        — the document has no tuple at all → unknown.
 *
 * A SIP tuple is one whose `<contact>` is a `sip:`/`sips:` URI or absent.
 * `unknown` is for the caller to map with `presence.whenUnknown` ({@link shouldTrySip}).
 * `bearerHint`: what presence suggests besides SIP (bearer-hint.ts), else `handBack.defaultBearer`.
 * `acceptedApps`: push app ids advertised by usable push tuples (see `PresenceTuple.pushApps`), or `'any'`
 * when none are advertised or nothing is known.
 */
import { bearerHintFromPresence } from './bearer-hint.js';
import type { EmptyPresence, PresenceDocument, PresenceSnapshot, PresenceSummary, PresenceTuple } from './presence-snapshot.js';
import type { SipProfile } from '../profiles/schema.js';
import type { DeliveryBlame } from './failure-attribution.js';
import type { Reachability, ReachabilityRule, ReachabilityVerdict } from './reachability-oracle.js';

export type { ReachabilityRule } from './reachability-oracle.js';

export interface LastDelivery {
  outcome: 'delivered' | 'failed';
  status?: number;
  /** Who the outcome speaks about (failure-attribution.ts). */
  blame?: DeliveryBlame;
  /** The attribution in words, for failures. */
  why?: string;
  at: number;
}

export interface ReachabilityInput {
  /** The presence evidence: as parsed, or as the table keeps it (presence-summary.ts). */
  snapshot?: PresenceSnapshot | PresenceSummary | EmptyPresence;
  lastDelivery?: LastDelivery;
  holdDownUntil?: number;
  now: number;
  firstNotifyTimedOut?: boolean;
  /** How the presence server ended or refused our subscription, when it did. */
  presenceRefusal?: 'rejected' | 'noresource';
}

/** Why a tuple is not usable for SIP push, or undefined when it is. */
export function tupleBlocker(tuple: PresenceTuple): string | undefined {
  if (tuple.basic !== 'open') return `basic is ${tuple.basic ?? 'absent'}`;
  if (tuple.willingness === 'closed') return 'willingness closed';
  if (tuple.barringState === 'active') return 'barring active';
  if (tuple.registrationState === 'terminated') return 'registration terminated';
  if (tuple.caps?.methods.notsupported.includes('MESSAGE')) return 'MESSAGE not supported';
  return undefined;
}

function isSipTuple(tuple: PresenceTuple): boolean {
  return tuple.contact === undefined || /^sips?:/i.test(tuple.contact);
}

/** What a document alone says (rules 6–12), before hold-downs, deliveries and refusals are weighed. */
export interface DocumentVerdict {
  reachability: Reachability;
  rule: ReachabilityRule;
  reason: string;
  acceptedApps: string[] | 'any';
}

/** Rules 6–12 over one presence document (pure; the table keeps only this, see presence-summary.ts). */
export function documentVerdict(doc: PresenceDocument, profile: SipProfile): DocumentVerdict {
  const verdict = (reachability: Reachability, rule: ReachabilityRule, reason: string, apps: string[] | 'any' = 'any') => ({
    reachability,
    rule,
    reason,
    acceptedApps: apps,
  });
  if (doc.persons.some((p) => p.overridingWillingness === 'closed')) {
    return verdict('unreachable', 'overriding-willingness-closed', 'person overriding-willingness is closed');
  }
  const ims = doc.devices.flatMap((d) => d.networks).filter((n) => n.id.toUpperCase() === 'IMS');
  if (ims.length > 0 && ims.every((n) => n.state === 'terminated')) {
    return verdict('unreachable', 'ims-network-down', 'IMS network terminated on every device reporting it');
  }

  const pushIds = new Set(profile.presence.pushServiceIds);
  const pushTuples = doc.tuples.filter((t) => t.service !== undefined && pushIds.has(t.service.serviceId));
  if (pushTuples.length > 0) {
    const usable = pushTuples.filter((t) => tupleBlocker(t) === undefined);
    if (usable.length > 0) {
      const apps = [...new Set(usable.flatMap((t) => t.pushApps))];
      return verdict('reachable', 'push-service-open', `push service open (tuple ${usable[0].id})`, apps.length ? apps : 'any');
    }
    const first = pushTuples[0];
    return verdict('unreachable', 'push-service-blocked', `push service not usable: tuple ${first.id} ${tupleBlocker(first)}`);
  }

  const usableSip = doc.tuples.filter((t) => isSipTuple(t) && tupleBlocker(t) === undefined);
  const messageCapable = usableSip.find((t) => t.caps?.methods.supported.includes('MESSAGE'));
  if (messageCapable) return verdict('reachable', 'message-capable', `tuple ${messageCapable.id} is open and supports MESSAGE`);
  if (usableSip.length > 0) {
    return profile.presence.basicOpenIsEnough
      ? verdict('reachable', 'basic-open', `tuple ${usableSip[0].id} is open`)
      : verdict('unreachable', 'open-not-push-capable', 'open, but no push service or MESSAGE capability advertised');
  }
  if (doc.tuples.length > 0) {
    const blockers = [...new Set(doc.tuples.map((t) => (isSipTuple(t) ? tupleBlocker(t) : 'not a SIP contact')))];
    return verdict('unreachable', 'all-closed', `no usable SIP service (${blockers.join(', ')})`);
  }
  return verdict('unknown', 'no-tuples', 'presence document has no tuples');
}

/** Decides reachability; see the module comment for the rules. */
export function decideReachability(input: ReachabilityInput, profile: SipProfile): ReachabilityVerdict {
  const snapshot = input.snapshot;
  const summary =
    snapshot?.kind === 'document'
      ? { ...documentVerdict(snapshot, profile), bearerHint: bearerHintFromPresence(snapshot) }
      : snapshot?.kind === 'summary'
        ? snapshot
        : undefined;
  const bearerHint = summary?.bearerHint ?? profile.handBack.defaultBearer;
  const decide = (reachability: Reachability, rule: ReachabilityRule, reason: string, apps: readonly string[] | 'any' = 'any') => ({
    reachability,
    acceptedApps: apps === 'any' ? apps : [...apps],
    bearerHint,
    reason,
    rule,
  });

  if (input.holdDownUntil !== undefined && input.holdDownUntil > input.now) {
    const status = input.lastDelivery?.status;
    return decide(
      'unreachable',
      'hold-down',
      `delivery failed${status ? ` (${status})` : ''}; held down for ${Math.ceil((input.holdDownUntil - input.now) / 1000)} s`,
    );
  }
  const delivery = input.lastDelivery;
  if (delivery?.outcome === 'delivered' && (!snapshot || delivery.at >= snapshot.receivedAt)) {
    return decide('reachable', 'delivered', 'the last MESSAGE was delivered (newer than any presence)');
  }
  if (!profile.presence.enabled) return decide('unknown', 'presence-disabled', 'presence is disabled in the sip-profile');
  if (!summary) {
    if (input.presenceRefusal === 'noresource') return decide('unreachable', 'noresource', 'presence server: no such resource');
    if (input.presenceRefusal === 'rejected') return decide('unknown', 'rejected', 'presence subscription rejected');
    if (snapshot?.kind === 'empty') return decide('unknown', 'nothing-published', 'NOTIFY without a body: nothing published');
    if (input.firstNotifyTimedOut) return decide('unknown', 'first-notify-timeout', 'no NOTIFY within firstNotifyWaitMs');
    return decide('unknown', 'no-presence', 'no presence information yet');
  }
  return decide(summary.reachability, summary.rule, summary.reason, summary.acceptedApps);
}

/** Applies `presence.whenUnknown` to a decision: should the push path try a SIP MESSAGE? */
export function shouldTrySip(decision: ReachabilityVerdict, profile: SipProfile): boolean {
  if (decision.reachability === 'reachable') return true;
  if (decision.reachability === 'unreachable') return false;
  return profile.presence.whenUnknown === 'try-sip';
}

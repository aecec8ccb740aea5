import type { SipProfile } from '../profiles/schema.js';
import type { NotifyEvent } from '../sip/port.js';
import type { WatchSource } from '../watch/watch-source.js';
import { parseReginfo } from './reginfo-parser.js';
import { applyReginfo, evidenceOf, type RegistrationView } from './registration-sequence.js';

/** The CSeq number of a NOTIFY (RFC 3261 §20.16), when readable. */
export function notifyCseq(event: NotifyEvent): number | undefined {
  const value = event.headers.cseq?.[0];
  const match = value === undefined ? null : /^\s*(\d{1,10})\b/.exec(value);
  return match ? Number(match[1]) : undefined;
}

export interface RegSourceStats {
  staleNotifies: number;
  versionGaps: number;
}

export function regSource(
  profile: SipProfile,
  stats: RegSourceStats = { staleNotifies: 0, versionGaps: 0 },
): WatchSource & { stats: RegSourceStats } {
  const r = profile.registration;
  /** Per watched AOR: the state of its current dialog (bounded by the watcher's users). */
  const views = new Map<string, RegistrationView>();
  return {
    name: 'reg',
    enabled: profile.sources.includes('reg'),
    event: r.event,
    accept: r.accept,
    expiresSeconds: r.expiresSeconds,
    firstNotifyWaitMs: r.firstNotifyWaitMs,
    stats,
    isFresh: (evidence, aor) => evidence.hasFreshRegistration(aor),
    dialogStarted: (aor) => views.delete(aor),
    applyNotify(evidence, aor, event) {
      const outcome = applyReginfo(views.get(aor), parseReginfo(event.body, event.contentType), notifyCseq(event));
      if (outcome.kind === 'stale') {
        stats.staleNotifies++;
        return 'ok';
      }
      if (outcome.kind === 'gap') {
        stats.versionGaps++;
        views.delete(aor);
        evidence.recordRegistrationResync(aor);
        return 'refresh';
      }
      views.set(aor, outcome.view);
      evidence.recordRegistration(aor, evidenceOf(outcome.view));
      return 'ok';
    },
    recordRefusal(evidence, aor, kind) {
      // 404/noresource: the registrar has no such AOR, so nothing can be bound to it. A refusal of the
      // watcher (403/rejected) says nothing about the user: the registration state stays unknown.
      if (kind === 'noresource') evidence.recordRegistration(aor, { receivedAt: Date.now(), contacts: [], empty: true });
    },
    forget: (aor) => views.delete(aor),
  };
}

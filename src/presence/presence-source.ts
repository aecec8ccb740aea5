/** The presence source (RFC 3856) of the watcher: PIDF documents into the capability layer. */
import type { SipProfile } from '../profiles/schema.js';
import type { WatchSource } from '../watch/watch-source.js';
import { parsePresence } from './pidf-parser.js';

export function presenceSource(profile: SipProfile): WatchSource {
  const p = profile.presence;
  return {
    name: 'presence',
    enabled: p.enabled && profile.sources.includes('presence'),
    event: p.event,
    accept: p.accept,
    expiresSeconds: p.expiresSeconds,
    firstNotifyWaitMs: p.firstNotifyWaitMs,
    // Any evidence but the registration state (that is the reg source's own).
    isFresh: (evidence, aor) => evidence.isFresh(aor, false),
    dialogStarted: () => undefined,
    applyNotify(evidence, aor, event) {
      evidence.recordPresence(aor, parsePresence(event.body, event.contentType));
      return 'ok';
    },
    recordRefusal: (evidence, aor, kind) => evidence.recordPresenceRefusal(aor, kind),
    forget: () => undefined,
  };
}

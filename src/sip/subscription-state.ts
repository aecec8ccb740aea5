import type { SubscriptionState } from './port.js';

/**
 * Parses a `Subscription-State` header value (RFC 6665 §8.2.3, grammar in §8.4):
 * `substate-value *( SEMI subexp-params )`, with `reason`, `expires` and `retry-after` understood.
 * Returns undefined when the value has no state token. Pure.
 */
export function parseSubscriptionState(value: string | undefined): SubscriptionState | undefined {
  if (value === undefined) return undefined;
  const [statePart, ...paramParts] = value.split(';');
  const state = statePart.trim().toLowerCase();
  if (!/^[a-z0-9!%*_+`'~.-]+$/.test(state)) return undefined;
  const parsed: SubscriptionState = { state };
  for (const part of paramParts) {
    const eq = part.indexOf('=');
    const name = (eq < 0 ? part : part.slice(0, eq)).trim().toLowerCase();
    const raw =
      eq < 0
        ? ''
        : part
            .slice(eq + 1)
            .trim()
            .replace(/^"(.*)"$/, '$1');
    if (name === 'reason' && raw) parsed.reason = raw.toLowerCase();
    if (name === 'expires') {
      const n = parseDeltaSeconds(raw);
      if (n !== undefined) parsed.expires = n;
    }
    if (name === 'retry-after') {
      const n = parseDeltaSeconds(raw);
      if (n !== undefined) parsed.retryAfter = n;
    }
  }
  return parsed;
}

/** RFC 3261 §25.1 delta-seconds: 1*DIGIT. */
export function parseDeltaSeconds(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const match = /^\s*(\d{1,10})/.exec(value);
  return match ? Number(match[1]) : undefined;
}

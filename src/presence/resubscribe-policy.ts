/**
 * What to do when a presence subscription ends or cannot start (pure). RFC 6665 §4.1.3 (reasons in
 * `Subscription-State: terminated`) and §4.1.2.2 (failed refresh):
 *
 * | how it ended                                          | next step                                         |
 * |-------------------------------------------------------|---------------------------------------------------|
 * | terminated `deactivated` / `timeout`                  | resubscribe: first retry at once, then backoff    |
 * | terminated `probation` / `giveup` / other / none      | resubscribe with backoff (retry-after is a floor) |
 * | terminated `rejected`; SUBSCRIBE 403/603/489          | stop; table: `rejected` (→ unknown)               |
 * | terminated `noresource`; SUBSCRIBE 404/604            | stop; table: `noresource` (→ unreachable)         |
 * | terminated `invariant`                                | stop (state will not change); table untouched     |
 * | refresh failed 481 (dialog gone)                      | resubscribe: first retry at once, then backoff    |
 * | refresh failed 408/timeout/other; SUBSCRIBE 408/480/5xx/timeout/transport; Timer N | backoff      |
 * | `unsubscribed` / `engine-stopped`                     | stop                                              |
 *
 * Why `rejected` maps to unknown and `noresource` to unreachable: a refused watcher authorisation says
 * nothing about the handset, while a presentity that does not exist cannot receive a MESSAGE either.
 */
import { SipRequestError, SipStatusError, type SubscriptionEnded } from '../sip/port.js';

export type NextStep =
  | { action: 'retry'; immediateFirst: boolean; retryAfter?: number }
  | { action: 'stop'; refusal?: 'rejected' | 'noresource' };

const retry = (immediateFirst: boolean, retryAfter?: number): NextStep =>
  retryAfter === undefined ? { action: 'retry', immediateFirst } : { action: 'retry', immediateFirst, retryAfter };

/** A final non-2xx to the initial SUBSCRIBE (after the engine's own 423 handling). */
export function stepAfterStatus(status: number, retryAfter?: number): NextStep {
  if (status === 403 || status === 603 || status === 489) return { action: 'stop', refusal: 'rejected' };
  if (status === 404 || status === 604) return { action: 'stop', refusal: 'noresource' };
  return retry(false, retryAfter);
}

export function stepAfterEnd(ended: SubscriptionEnded): NextStep {
  switch (ended.cause) {
    case 'unsubscribed':
    case 'engine-stopped':
      return { action: 'stop' };
    case 'rejected':
      return stepAfterStatus(ended.status ?? 0, ended.retryAfter);
    case 'refresh-failed':
      return retry(ended.status === 481 && ended.retryAfter === undefined, ended.retryAfter);
    case 'timeout':
      return retry(false, ended.retryAfter);
    case 'notify-terminated':
      switch (ended.reason?.toLowerCase()) {
        case 'rejected':
          return { action: 'stop', refusal: 'rejected' };
        case 'noresource':
          return { action: 'stop', refusal: 'noresource' };
        case 'invariant':
          return { action: 'stop' };
        case 'deactivated':
        case 'timeout':
          return retry(ended.retryAfter === undefined, ended.retryAfter);
        default:
          return retry(false, ended.retryAfter);
      }
  }
}

/** What a rejected `engine.subscribe()` promise means. */
export function stepAfterSubscribeError(err: unknown): NextStep {
  if (err instanceof SipStatusError) return stepAfterStatus(err.status, err.retryAfter);
  if (err instanceof SipRequestError) return retry(false);
  return retry(false);
}

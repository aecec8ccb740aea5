/**
 * The watcher's bookkeeping for one user: subscription phase, the attempt generation (callbacks from an
 * older SUBSCRIBE are ignored), backoff state and the pushes waiting for the first NOTIFY.
 */
import type { SipSubscription } from '../sip/port.js';

/**
 * - `queued`: waiting for a SUBSCRIBE slot; `subscribing`: SUBSCRIBE sent; `active`: dialog up;
 * - `backoff`: waiting to resubscribe; `stopped`: not resubscribing (refused, invariant, or unsubscribed).
 */
export type WatchPhase = 'queued' | 'subscribing' | 'active' | 'backoff' | 'stopped';

export const WATCH_PHASES: readonly WatchPhase[] = ['queued', 'subscribing', 'active', 'backoff', 'stopped'];

export class WatchedUser {
  phase: WatchPhase = 'queued';
  /** Incremented per SUBSCRIBE attempt; delegate callbacks carry the generation they belong to. */
  generation = 0;
  /** The generation whose end was already handled (onEnded and a rejected promise may both report it). */
  endedGeneration = -1;
  subscription?: SipSubscription;
  /** Consecutive failed attempts (drives the backoff); reset once a subscription proved stable. */
  attempts = 0;
  activeSince?: number;
  /** When the current subscription's last NOTIFY arrived. */
  lastNotifyAt?: number;
  /** A refresh SUBSCRIBE is in flight (shared by concurrent decisions). */
  refreshing = false;
  retryTimer?: NodeJS.Timeout;
  /** While `stopped` after a refusal: no new SUBSCRIBE before this time unless forced by `refresh()`. */
  stoppedUntil?: number;
  forgotten = false;
  private waiters: Array<(notified: boolean) => void> = [];

  constructor(readonly aor: string) {}

  /** Resolves true on the next NOTIFY, false when the subscription attempt ends first or after `ms`. */
  waitForNotify(ms: number): Promise<boolean> {
    if (ms <= 0) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => settle(false), ms);
      const settle = (notified: boolean): void => {
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== settle);
        resolve(notified);
      };
      this.waiters.push(settle);
    });
  }

  /** Wakes every waiting push. */
  wake(notified: boolean): void {
    for (const waiter of [...this.waiters]) waiter(notified);
  }

  get waiting(): number {
    return this.waiters.length;
  }

  clearRetry(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }
}

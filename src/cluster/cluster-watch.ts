/**
 * One presence (and reg) subscription per user across the cluster, seen from the push path. The watchers
 * do the SIP; {@link WatchOwnership} decides which agent keeps which user's dialogs; this file wraps each
 * watcher's {@link WatchTrigger} (what the capability oracle asks for first evidence) with the rule:
 *
 * 1. every user a push is decided for is *wanted* (`WatchLeases.want`), so some agent watches them from
 *    its next ownership round on;
 * 2. this agent holds the user's lease → its own watcher answers (refresh or first SUBSCRIBE, as alone);
 * 3. this agent is the user's rendezvous owner and the lease is free → it takes the lease at once and
 *    subscribes (no wait for the next round);
 * 4. otherwise another agent owns the user: no local SUBSCRIBE. The push waits — bounded by the same
 *    first-NOTIFY wait — for that agent's evidence to appear in the shared table, re-reading it every
 *    `pollMs`; none in time is a first-NOTIFY timeout, decided on the profile's "unknown" rules.
 *
 * A table eviction (`forget`) does not end a dialog this agent holds the lease for — the lease decides
 * who watches, and the near cache's capacity is only this agent's memory. Users it does not hold have no
 * dialog here to end.
 */
import type { EvictionReason } from '../capabilities/capability-store.js';
import type { WatchTrigger } from '../capabilities/evidence-ports.js';
import type { WatchOwnership } from './watch-ownership.js';

export interface ClusterWatchOptions {
  ownership: WatchOwnership;
  /** Mark users wanted by the cluster (fire and forget; failures are the caller's to count). */
  want(aors: string[]): Promise<void>;
  /** Re-read the user's shared entry into this agent's table (the capability store's prefetch). */
  refill(aor: string): Promise<void>;
  /** How often a waiting push re-reads the shared entry. */
  pollMs?: number;
  /** Users remembered as already wanted (bounds the dedupe set; it is cleared when full). */
  maxRemembered?: number;
  onWantFailed?(err: unknown): void;
}

/** What the cluster rule needs of one source's watcher besides its trigger. */
export interface WatchedSource {
  trigger: WatchTrigger;
  enabled: boolean;
  firstNotifyWaitMs: number;
  /** Does the table hold this source's evidence for the user, still counting? */
  isFresh(aor: string): boolean;
}

export class ClusterWatch {
  private readonly wanted = new Set<string>();
  private readonly pollMs: number;
  private readonly maxRemembered: number;

  constructor(private readonly options: ClusterWatchOptions) {
    this.pollMs = options.pollMs ?? 100;
    this.maxRemembered = options.maxRemembered ?? 100_000;
  }

  /** Users the cluster should watch (the watch list at start, every pushed user): one Redis write per new user. */
  want(aors: readonly string[]): void {
    const fresh = aors.filter((aor) => !this.wanted.has(aor));
    if (fresh.length === 0) return;
    if (this.wanted.size + fresh.length > this.maxRemembered) this.wanted.clear();
    for (const aor of fresh) this.wanted.add(aor);
    this.options.want(fresh).catch((err: unknown) => {
      for (const aor of fresh) this.wanted.delete(aor); // asked again by the next push
      this.options.onWantFailed?.(err);
    });
  }

  /** The trigger the oracle uses for `source` in cluster mode. */
  trigger(source: WatchedSource): WatchTrigger {
    return {
      prepare: (aor) => this.prepare(source, aor),
      forget: (aor, reason) => this.forget(source, aor, reason),
    };
  }

  private async prepare(source: WatchedSource, aor: string): Promise<boolean | undefined> {
    this.want([aor]);
    if (!source.enabled || source.isFresh(aor)) return source.trigger.prepare(aor);
    const { ownership } = this.options;
    if (ownership.holds(aor) || (await ownership.claim(aor))) return source.trigger.prepare(aor);
    return this.waitForShared(source, aor);
  }

  /** Another agent watches `aor`: wait (bounded) for its evidence to reach the shared table. */
  private async waitForShared(source: WatchedSource, aor: string): Promise<boolean> {
    const deadline = Date.now() + source.firstNotifyWaitMs;
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise((resolve) => setTimeout(resolve, Math.min(this.pollMs, left)));
      await this.options.refill(aor);
      if (source.isFresh(aor)) return true;
    }
  }

  private forget(source: WatchedSource, aor: string, reason: EvictionReason): void {
    if (this.options.ownership.holds(aor)) return;
    source.trigger.forget(aor, reason);
  }
}

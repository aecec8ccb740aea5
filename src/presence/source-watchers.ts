/**
 * The push path's oracle over every capability source the profile names (`sources: [presence, reg]`):
 * one watcher per source, one capability table. A decision waits — in parallel, each within its own
 * first-NOTIFY bound — for the sources that know nothing yet, then the table decides with all the
 * evidence (src/capabilities/source-policy.ts).
 */
import type { CapabilityTable, DeliveryResult } from '../capabilities/capability-table.js';
import type { ReachabilityDecision } from '../capabilities/reachability-policy.js';
import type { PresenceWatcher, PresenceWatcherStats } from './presence-watcher.js';

export class SourceWatchers {
  constructor(
    private readonly table: CapabilityTable,
    /** The watchers of enabled sources (a disabled source's watcher never subscribes anyway). */
    readonly watchers: PresenceWatcher[],
  ) {}

  async decide(aor: string): Promise<ReachabilityDecision> {
    const waits = await Promise.all(this.watchers.map((w) => w.prepare(aor)));
    // "first NOTIFY timed out" only when nothing arrived at all: one source's answer is evidence.
    const timedOut = waits.includes(false) && !waits.includes(true);
    return this.table.decide(aor, timedOut ? { firstNotifyTimedOut: true } : {});
  }

  /** A MESSAGE outcome with the core's health meanwhile; the table attributes it (failure-attribution.ts). */
  recordDelivery(aor: string, result: DeliveryResult): ReachabilityDecision {
    return this.table.recordDelivery(aor, result);
  }

  /** A table entry left: every watcher forgets the user (each also listens to the table itself). */
  onEvicted(aor: string): void {
    for (const w of this.watchers) w.onEvicted(aor);
  }

  /** Forces a refresh of every enabled source for `aor` (admin API). */
  async refresh(aor: string): Promise<void> {
    await Promise.all(this.enabled().map((w) => w.refresh(aor)));
  }

  /** Subscribes every enabled source to these users (the watch list). */
  async watch(aors: string[]): Promise<void> {
    await Promise.all(this.enabled().map((w) => w.watch(aors)));
  }

  /**
   * Watchers whose source the profile uses. The presence watcher alone is kept even when disabled: the
   * admin API and the watch list always reached it before sources existed.
   */
  private enabled(): PresenceWatcher[] {
    const on = this.watchers.filter((w) => w.source.enabled);
    return on.length > 0 ? on : this.watchers.slice(0, 1);
  }

  async stop(timeoutMs: number): Promise<{ unsubscribed: number; abandoned: number }> {
    const results = await Promise.all(this.watchers.map((w) => w.stop(timeoutMs)));
    return results.reduce((a, b) => ({ unsubscribed: a.unsubscribed + b.unsubscribed, abandoned: a.abandoned + b.abandoned }), {
      unsubscribed: 0,
      abandoned: 0,
    });
  }

  /** Per source name, the watcher's counters. */
  statsBySource(): Record<string, PresenceWatcherStats> {
    return Object.fromEntries(this.watchers.map((w) => [w.source.name, w.stats()]));
  }
}

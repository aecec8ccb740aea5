/**
 * The watchers of every capability source the profile names (`sources: [presence, reg]`), as one group
 * for start-up (the watch list), the admin API (refresh), stop and the per-source counters. The push
 * path's question goes to capabilities/capability-oracle.ts, which asks these same watchers for first
 * evidence through its WatchTrigger port.
 */
import type { PresenceWatcher, PresenceWatcherStats } from './presence-watcher.js';

export class SourceWatchers {
  constructor(
    /** The watchers of enabled sources (a disabled source's watcher never subscribes anyway). */
    readonly watchers: PresenceWatcher[],
  ) {}

  /** Forces a refresh of every enabled source for `aor` (admin API). */
  async refresh(aor: string): Promise<void> {
    await Promise.all(this.enabled().map((w) => w.refresh(aor)));
  }

  /** Subscribes every enabled source to these users (the watch list). */
  async watch(aors: string[]): Promise<void> {
    await Promise.all(this.enabled().map((w) => w.watch(aors)));
  }

  /** Stops watching these users in every source (cluster mode: they moved to another agent). */
  async unwatch(aors: readonly string[]): Promise<void> {
    await Promise.all(this.watchers.map((w) => w.unwatch(aors)));
  }

  /** Drops these users at once in every source (cluster mode: their lease was lost to another agent). */
  drop(aors: readonly string[]): void {
    for (const w of this.watchers) for (const aor of aors) w.forget(aor, 'deleted');
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

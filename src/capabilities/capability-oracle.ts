/**
 * The reachability question answered (the {@link ReachabilityOracle} the push path uses): the table
 * decides; when a source knows nothing yet, its watcher is asked first for evidence — all sources in
 * parallel, each within its own first-NOTIFY bound. Delivery outcomes go into the table, which
 * attributes them (failure-attribution.ts).
 *
 * Eviction is wired here, once: an entry leaving the table (capacity, expiry, delete) makes every
 * watcher forget the user, so subscriptions stay bounded by the table's capacity.
 */
import type { CapabilityTable } from './capability-table.js';
import type { WatchTrigger } from './evidence-ports.js';
import type { DeliveryReport, ReachabilityOracle, ReachabilityVerdict } from './reachability-oracle.js';

export class CapabilityOracle implements ReachabilityOracle {
  private readonly detach: () => void;

  constructor(
    private readonly table: CapabilityTable,
    private readonly triggers: readonly WatchTrigger[],
  ) {
    this.detach = table.addEvictionListener((aor, reason) => {
      for (const trigger of this.triggers) trigger.forget(aor, reason);
    });
  }

  async decide(aor: string): Promise<ReachabilityVerdict> {
    await this.table.prefetch(aor);
    const waits = await Promise.all(this.triggers.map((t) => t.prepare(aor)));
    // "first NOTIFY timed out" only when nothing arrived at all: one source's answer is evidence.
    const timedOut = waits.includes(false) && !waits.includes(true);
    return this.table.decide(aor, timedOut ? { firstNotifyTimedOut: true } : {});
  }

  /** A MESSAGE outcome; returns the verdict that now applies. */
  recordDelivery(aor: string, report: DeliveryReport): ReachabilityVerdict {
    return this.table.recordDelivery(aor, report);
  }

  /** Stops forwarding evictions (shutdown: the watchers unsubscribe everyone themselves). */
  close(): void {
    this.detach();
  }
}

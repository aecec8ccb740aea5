/**
 * Cluster mode's lease loop for open work (pushes and outbox POSTs in the shared store). Two rounds:
 *
 * - every `renewMs` (a third of the lease, so two renewals may fail before the lease lapses) this agent
 *   extends the leases of its own open pushes and pending outbox items;
 * - every `tickMs` it takes over the work whose lease lapsed — an agent that died, or was cut off from
 *   the store longer than a lease — and hands it on: pushes to the push core's resume path (exactly what
 *   a restart does with its own), outbox items to the dispatcher (read the table again).
 *
 * The loop knows nothing of the store: the wiring gives it the four calls. A failing round (the store is
 * unreachable) is logged once when it starts failing and once when it recovers, counted, and tried again
 * next round; nothing here throws into the agent.
 */
import type { Logger } from 'pino';
import { countInternalError } from '../lib/internal-errors.js';
import { silentLogger } from '../lib/logger.js';

export interface LeasedWork {
  /** Extend this agent's leases. */
  renew(): Promise<unknown>;
  /** Take over lapsed pushes and resume them; how many were taken. */
  takeOverPushes(): Promise<number>;
  /** Take over lapsed outbox items and have them sent; how many were taken. */
  takeOverOutbox(): Promise<number>;
  /** Anything else worth doing once per round (e.g. refreshing the store's counts for /metrics). */
  eachTick?(): Promise<void>;
}

export interface WorkLeaseOptions {
  work: LeasedWork;
  renewMs: number;
  tickMs: number;
  logger?: Logger;
}

export interface WorkLeaseStats {
  renewals: number;
  renewFailures: number;
  pushesTakenOver: number;
  outboxTakenOver: number;
  tickFailures: number;
}

export class WorkLeaseLoop {
  private readonly log: Logger;
  private readonly counts: WorkLeaseStats = { renewals: 0, renewFailures: 0, pushesTakenOver: 0, outboxTakenOver: 0, tickFailures: 0 };
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly running = new Set<Promise<void>>();
  private readonly failing = { renew: false, tick: false };
  private stopped = true;

  constructor(private readonly options: WorkLeaseOptions) {
    this.log = (options.logger ?? silentLogger()).child({ component: 'work-leases' });
  }

  stats(): Readonly<WorkLeaseStats> {
    return this.counts;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.every(this.options.renewMs, () => this.renew());
    this.every(this.options.tickMs, () => this.tick());
  }

  /** Stops both rounds; resolves when a round in progress has finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await Promise.all([...this.running]);
  }

  /** One renewal round (exposed for tests). */
  async renew(): Promise<void> {
    try {
      await this.options.work.renew();
      this.counts.renewals += 1;
      this.recovered('renew');
    } catch (err) {
      this.counts.renewFailures += 1;
      this.failed('renew', err, 'cannot renew work leases; the others take this agent’s work over if it lasts past the lease');
    }
  }

  /** One takeover round (exposed for tests). */
  async tick(): Promise<void> {
    const { work } = this.options;
    try {
      const pushes = await work.takeOverPushes();
      const outbox = await work.takeOverOutbox();
      this.counts.pushesTakenOver += pushes;
      this.counts.outboxTakenOver += outbox;
      if (pushes + outbox > 0) this.log.info({ pushes, outbox }, 'took over work whose lease lapsed');
      await work.eachTick?.();
      this.recovered('tick');
    } catch (err) {
      this.counts.tickFailures += 1;
      this.failed('tick', err, 'takeover round failed; retrying next round');
    }
  }

  /** Runs `round` every `ms`, never two at once; the next starts `ms` after the previous ended. */
  private every(ms: number, round: () => Promise<void>): void {
    const schedule = () => {
      if (this.stopped) return;
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        const run = round().finally(() => {
          this.running.delete(run);
          schedule();
        });
        this.running.add(run);
      }, ms);
      timer.unref();
      this.timers.add(timer);
    };
    schedule();
  }

  private failed(which: 'renew' | 'tick', err: unknown, message: string): void {
    countInternalError(`cluster:${which}`, err);
    if (this.failing[which]) return;
    this.failing[which] = true;
    this.log.warn({ err }, message);
  }

  private recovered(which: 'renew' | 'tick'): void {
    if (!this.failing[which]) return;
    this.failing[which] = false;
    this.log.info(`work lease ${which === 'renew' ? 'renewals' : 'takeovers'} work again`);
  }
}

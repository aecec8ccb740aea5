/**
 * Where accepted pushes wait for their MESSAGE: due ones in a bounded queue (at most `maxInFlight`
 * transactions at once, at most `maxQueued` waiting: intake asks {@link DeliveryLane.hasRoom} first and
 * answers PAP 4001 otherwise), scheduled ones (deliver-after in the future) in the due schedule with
 * their bodies left on disk. The slots are the shared concurrency limiter (src/lib/).
 */
import type { Logger } from 'pino';
import { ConcurrencyLimiter } from '../../lib/concurrency-limiter.js';
import { countInternalError } from '../../lib/internal-errors.js';
import type { PushSubmission } from '../pap/pap-types.js';
import type { PushSummary } from '../store/push-record.js';
import { DueSchedule } from './due-schedule.js';

/** What intake leaves for a push due now: its parsed submission and the record it stored (no body). */
export interface CachedPush {
  push: PushSubmission;
  record: PushSummary | undefined;
}

/** An exact-size copy of `bytes` with its own memory (not a view into a shared pool slab or request body). */
function ownCopy(bytes: Buffer): Buffer {
  const copy = new Uint8Array(bytes);
  return Buffer.from(copy.buffer, copy.byteOffset, copy.byteLength);
}

/**
 * The submission as cached until delivery: its Buffers are subarrays of the HTTP body, itself a slice of
 * Node's 8 KB Buffer pool, so each cached push could pin a whole slab (measured under overload: 16 MB of
 * slabs for ≈ 22k cached pushes; 8 KB × (maxQueued + maxInFlight) at worst). Copies keep only the bytes.
 */
function detached(push: PushSubmission): PushSubmission {
  return {
    ...push,
    content: { ...push.content, body: ownCopy(push.content.body) },
    ...(push.capabilities ? { capabilities: ownCopy(push.capabilities) } : {}),
  };
}

export interface DeliveryLaneOptions {
  maxInFlight: number;
  maxQueued: number;
  now: () => number;
  log: Logger;
  /** One delivery attempt; it records its own outcome, so a rejection here is a defect. */
  attempt: (pushId: string) => Promise<void>;
}

export class DeliveryLane {
  private readonly slots: ConcurrencyLimiter;
  /** Pushes under admission that took room ({@link reserveRoom}) and are not queued yet. */
  private reserved: number;
  private readonly scheduled: DueSchedule;
  /** Parsed submissions (and stored records) of pushes due now; scheduled ones are re-read when due. */
  private readonly submissions = new Map<string, CachedPush>();

  constructor(private readonly o: DeliveryLaneOptions) {
    this.slots = new ConcurrencyLimiter(o.maxInFlight);
    this.reserved = 0;
    this.scheduled = new DueSchedule(
      (pushId) => this.enqueue(pushId),
      () => o.now(),
    );
  }

  /**
   * Takes room for one push under admission: true when it fits both bounds counting the pushes already
   * admitted but not yet queued (admission awaits the store and the oracle between its check and the
   * queueing, so a burst would otherwise all pass the check before any of it is counted). Every true
   * is paired with one {@link releaseRoom} once the push is queued, scheduled or refused.
   */
  reserveRoom(): boolean {
    if (this.slots.active + this.slots.queued + this.reserved >= this.o.maxInFlight + this.o.maxQueued) return false;
    this.reserved += 1;
    return true;
  }

  releaseRoom(): void {
    this.reserved -= 1;
  }

  get depth(): { inFlight: number; queued: number } {
    return { inFlight: this.slots.active, queued: this.slots.queued };
  }

  /** Pushes waiting for a future deliver-after (bodies on disk, not in memory). */
  get scheduledCount(): number {
    return this.scheduled.size;
  }

  /** Is `deliverAfter` still ahead (the push waits in the schedule, its body on disk)? */
  isLater(deliverAfter: number | undefined): deliverAfter is number {
    return deliverAfter !== undefined && deliverAfter > this.o.now();
  }

  /**
   * Queues a push: now, or at its deliver-after. `push` and the `record` just stored (due now only) save
   * reading the push back from the store.
   */
  schedule(pushId: string, deliverAfter: number | undefined, push?: PushSubmission, record?: PushSummary): void {
    if (this.isLater(deliverAfter)) {
      this.scheduled.add(pushId, deliverAfter);
      return;
    }
    if (push) this.submissions.set(pushId, { push: detached(push), record });
    this.enqueue(pushId);
  }

  /** What intake left for a push due now, if anything. */
  cached(pushId: string): CachedPush | undefined {
    return this.submissions.get(pushId);
  }

  forget(pushId: string): void {
    this.submissions.delete(pushId);
  }

  /** Takes a push out of the schedule (cancel). */
  unschedule(pushId: string): void {
    this.scheduled.remove(pushId);
  }

  /** Forgets scheduled pushes (they resume after a restart); waits (bounded) for the queue to empty. */
  async drain(timeoutMs: number): Promise<boolean> {
    this.scheduled.clear();
    const deadline = Date.now() + timeoutMs;
    while (this.slots.active > 0 || this.slots.queued > 0) {
      if (Date.now() >= deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return true;
  }

  private enqueue(pushId: string): void {
    this.slots
      .run(() => this.o.attempt(pushId), 'high')
      .catch((err: unknown) => {
        // The attempt records every outcome it knows of; reaching here is a defect or a store failure
        // before the attempt began. The push stays non-terminal and resumes after a restart.
        countInternalError('push:delivery-job', err);
        this.o.log.error({ err, pushId }, 'delivery attempt failed unexpectedly; the push resumes after a restart');
        this.submissions.delete(pushId);
      });
  }
}

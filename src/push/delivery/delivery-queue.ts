/**
 * A bounded delivery queue: at most `maxInFlight` SIP transactions at once and at most `maxQueued`
 * pushes waiting for a slot. Intake asks {@link DeliveryQueue.hasRoom} before accepting a push so
 * overload is answered with PAP 4001 at once instead of piling up.
 */
export class DeliveryQueue {
  private inFlight = 0;
  private readonly waiting: Array<() => Promise<void>> = [];

  constructor(
    private readonly maxInFlight: number,
    private readonly maxQueued: number,
  ) {}

  /** True when one more push can be taken without exceeding either bound. */
  hasRoom(): boolean {
    return this.inFlight < this.maxInFlight || this.waiting.length < this.maxQueued;
  }

  get depth(): { inFlight: number; queued: number } {
    return { inFlight: this.inFlight, queued: this.waiting.length };
  }

  /** Runs `job` when a slot is free. Jobs must not throw (they record their own outcome). */
  push(job: () => Promise<void>): void {
    if (this.inFlight < this.maxInFlight) this.run(job);
    else this.waiting.push(job);
  }

  /** Resolves when nothing is in flight or queued, or after `timeoutMs`. */
  async drain(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.inFlight > 0 || this.waiting.length > 0) {
      if (Date.now() >= deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return true;
  }

  private run(job: () => Promise<void>): void {
    this.inFlight += 1;
    void job()
      .catch(() => undefined)
      .finally(() => {
        this.inFlight -= 1;
        const next = this.waiting.shift();
        if (next) this.run(next);
      });
  }
}

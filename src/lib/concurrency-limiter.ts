/**
 * At most `max` tasks in flight; the rest wait in a queue. `high` priority tasks (a push is waiting for
 * this user) go before `low` ones (the start-up watch list), so a large watch list cannot delay pushes.
 */
interface Queued {
  start: () => void;
  skip: () => void;
}

export type TaskPriority = 'high' | 'low';

export class ConcurrencyLimiter {
  private running = 0;
  private readonly high: Queued[] = [];
  private readonly low: Queued[] = [];

  constructor(private readonly max: number) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`concurrency must be a positive integer, got ${max}`);
  }

  get active(): number {
    return this.running;
  }

  get queued(): number {
    return this.high.length + this.low.length;
  }

  /** Runs `task` when a slot is free; resolves `undefined` if the queue was cleared before it started. */
  run<T>(task: () => Promise<T>, priority: TaskPriority = 'low'): Promise<T | undefined> {
    return new Promise<T | undefined>((resolve, reject) => {
      const start = (): void => {
        this.running++;
        task()
          .then(resolve, reject)
          .finally(() => {
            this.running--;
            this.next();
          });
      };
      (priority === 'high' ? this.high : this.low).push({ start, skip: () => resolve(undefined) });
      this.next();
    });
  }

  /** Drops every queued task (they resolve `undefined`); running ones finish. Returns how many. */
  clear(): number {
    const dropped = [...this.high.splice(0), ...this.low.splice(0)];
    for (const q of dropped) q.skip();
    return dropped.length;
  }

  private next(): void {
    while (this.running < this.max) {
      const item = this.high.shift() ?? this.low.shift();
      if (!item) return;
      item.start();
    }
  }
}

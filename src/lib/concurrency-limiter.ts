/**
 * At most `max` tasks in flight; the rest wait in a queue. `high` priority tasks (a push is waiting for
 * this user) go before `low` ones (the start-up watch list), so a large watch list cannot delay pushes.
 */
interface Queued {
  start: () => void;
  skip: () => void;
}

/**
 * A first-in first-out queue whose `shift` costs O(1) at any length. `Array.prototype.shift` copies the
 * whole backing store once an array is large (V8 cannot move the start of an object in its large-object
 * space, past about 64k elements), so draining a start-up watch list of 100k users through an array cost
 * O(n²) — half a minute of CPU at 100k.
 */
class Fifo<T> {
  private items: (T | undefined)[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head++] = undefined;
    // Drop the consumed prefix once it is half the array (amortised O(1) per item).
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  /** Removes and returns every item, oldest first. */
  drain(): T[] {
    const out = this.items.slice(this.head) as T[];
    this.items = [];
    this.head = 0;
    return out;
  }
}

export type TaskPriority = 'high' | 'low';

export class ConcurrencyLimiter {
  private running = 0;
  private readonly high = new Fifo<Queued>();
  private readonly low = new Fifo<Queued>();

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
    const dropped = [...this.high.drain(), ...this.low.drain()];
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

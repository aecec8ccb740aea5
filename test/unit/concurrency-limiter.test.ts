import { describe, expect, it } from 'vitest';
import { ConcurrencyLimiter } from '../../src/lib/concurrency-limiter.js';

/** Milliseconds to queue `n` trivial tasks behind one slot and drain them all. */
async function drainMs(n: number): Promise<number> {
  const limiter = new ConcurrencyLimiter(1);
  const t0 = performance.now();
  const all: Promise<unknown>[] = [];
  for (let i = 0; i < n; i++) all.push(limiter.run(() => Promise.resolve(i)));
  await Promise.all(all);
  return performance.now() - t0;
}

describe('ConcurrencyLimiter', () => {
  it('runs at most `max` at once, high priority first, then in arrival order', async () => {
    const limiter = new ConcurrencyLimiter(2);
    const order: string[] = [];
    let open = 0;
    let most = 0;
    const task = (name: string) => async () => {
      open++;
      most = Math.max(most, open);
      await new Promise((r) => setImmediate(r));
      order.push(name);
      open--;
    };
    await Promise.all([
      limiter.run(task('a')),
      limiter.run(task('b')),
      limiter.run(task('c')),
      limiter.run(task('d'), 'high'),
      limiter.run(task('e')),
    ]);
    expect(most).toBe(2);
    expect(order).toEqual(['a', 'b', 'd', 'c', 'e']);
  });

  it('clear() resolves every queued task undefined and leaves running ones be', async () => {
    const limiter = new ConcurrencyLimiter(1);
    let release = () => {};
    const running = limiter.run(() => new Promise<string>((r) => (release = () => r('done'))));
    const queued = [limiter.run(async () => 'x'), limiter.run(async () => 'y', 'high')];
    expect(limiter.clear()).toBe(2);
    await expect(Promise.all(queued)).resolves.toEqual([undefined, undefined]);
    release();
    await expect(running).resolves.toBe('done');
    expect(limiter.queued).toBe(0);
  });

  it('a queue of 100k (a start-up watch list) drains in time linear in its length, not quadratic', async () => {
    // Array.prototype.shift copies a large array's whole backing store: 10× the tasks took ~60× the time.
    await drainMs(5_000); // warm-up (JIT)
    const small = await drainMs(10_000);
    const large = await drainMs(100_000);
    expect(large / small).toBeLessThan(35);
  }, 120_000);
});

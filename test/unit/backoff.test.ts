import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../src/lib/backoff.js';

describe('backoff', () => {
  const policy = { baseMs: 100, maxMs: 5_000, jitter: 0 };

  it('doubles from baseMs and stops at maxMs', () => {
    expect([1, 2, 3, 4, 6, 7, 50, 10_000].map((n) => backoffDelay(policy, n))).toEqual([100, 200, 400, 800, 3_200, 5_000, 5_000, 5_000]);
  });

  it('jitters down only, within [d·(1−jitter), d]', () => {
    const p = { ...policy, jitter: 0.5 };
    expect(backoffDelay(p, 3, () => 0)).toBe(200);
    expect(backoffDelay(p, 3, () => 0.999999)).toBe(400);
  });

  it('a Retry-After floor is never shortened by jitter', () => {
    expect(backoffDelay({ baseMs: 1000, maxMs: 8000 }, 1, () => 0, 60_000)).toBe(60_000);
  });

  it('never leaves [0, maxMs] (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10_000 }),
        fc.integer({ min: 0, max: 10_000 }),
        fc.integer({ min: -5, max: 1_000_000 }),
        fc.double({ min: -1, max: 2, noNaN: true }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (baseMs, maxMs, failures, jitter, r) => {
          const d = backoffDelay({ baseMs, maxMs, jitter }, failures, () => r);
          expect(d).toBeGreaterThanOrEqual(0);
          expect(d).toBeLessThanOrEqual(maxMs);
        },
      ),
    );
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DueQueue } from '../../src/push/outbox/due-queue.js';

interface Item {
  id: number;
  nextAttemptAt: number;
}

describe('DueQueue', () => {
  it('pops earliest due first, ties by id', () => {
    const q = new DueQueue<Item>();
    for (const [id, at] of [
      [3, 50],
      [1, 50],
      [2, 10],
      [4, 99],
    ] as const)
      q.add({ id, nextAttemptAt: at });
    expect([q.pop(), q.pop(), q.pop(), q.pop(), q.pop()].map((i) => i?.id)).toEqual([2, 1, 3, 4, undefined]);
  });

  it('a replaced item keeps only its new time; a removed one never surfaces', () => {
    const q = new DueQueue<Item>();
    q.add({ id: 1, nextAttemptAt: 10 });
    q.add({ id: 2, nextAttemptAt: 20 });
    q.add({ id: 1, nextAttemptAt: 30 }); // rescheduled after a failure
    expect(q.remove(2)).toBe(true);
    expect(q.size).toBe(1);
    expect(q.peek()).toEqual({ id: 1, nextAttemptAt: 30 });
    expect(q.pop()?.nextAttemptAt).toBe(30);
    expect(q.pop()).toBeUndefined();
  });

  it('matches a sorted list under any mix of adds, replacements, removals and pops, and stays compact', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('add' as const), id: fc.integer({ min: 1, max: 40 }), at: fc.integer({ min: 0, max: 1000 }) }),
      fc.record({ kind: fc.constant('remove' as const), id: fc.integer({ min: 1, max: 40 }) }),
      fc.record({ kind: fc.constant('pop' as const) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 400 }), (ops) => {
        const q = new DueQueue<Item>();
        const model = new Map<number, number>();
        for (const o of ops) {
          if (o.kind === 'add') {
            q.add({ id: o.id, nextAttemptAt: o.at });
            model.set(o.id, o.at);
          } else if (o.kind === 'remove') {
            expect(q.remove(o.id)).toBe(model.delete(o.id));
          } else {
            const expected = [...model].sort((a, b) => a[1] - b[1] || a[0] - b[0])[0];
            const got = q.pop();
            expect(got && [got.id, got.nextAttemptAt]).toEqual(expected);
            if (expected) model.delete(expected[0]);
          }
          expect(q.size).toBe(model.size);
        }
      }),
    );
  });
});

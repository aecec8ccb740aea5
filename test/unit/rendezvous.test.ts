import { describe, expect, it } from 'vitest';
import { hash32, ownerOf } from '../../src/cluster/rendezvous.js';

const users = Array.from({ length: 3000 }, (_, i) => `sip:user${i}@ims.example.net`);

describe('rendezvous hashing', () => {
  it('is deterministic and independent of member order', () => {
    for (const u of users.slice(0, 200)) {
      expect(ownerOf(u, ['a', 'b', 'c'])).toBe(ownerOf(u, ['c', 'a', 'b']));
    }
    expect(hash32('sip:x@y')).toBe(hash32('sip:x@y'));
    expect(ownerOf('k', [])).toBeUndefined();
  });

  it('spreads keys evenly (each of 3 members within 25 % of a third)', () => {
    const counts = new Map<string, number>();
    for (const u of users)
      counts.set(ownerOf(u, ['agent-1', 'agent-2', 'agent-3'])!, (counts.get(ownerOf(u, ['agent-1', 'agent-2', 'agent-3'])!) ?? 0) + 1);
    for (const n of counts.values()) expect(Math.abs(n - 1000)).toBeLessThan(250);
  });

  it('moves only the leaving member’s keys, and ~1/N to a joining one', () => {
    const before = new Map(users.map((u) => [u, ownerOf(u, ['a', 'b', 'c'])!]));
    const afterLeave = new Map(users.map((u) => [u, ownerOf(u, ['a', 'c'])!]));
    for (const u of users) if (before.get(u) !== 'b') expect(afterLeave.get(u)).toBe(before.get(u));
    const afterJoin = new Map(users.map((u) => [u, ownerOf(u, ['a', 'b', 'c', 'd'])!]));
    const moved = users.filter((u) => afterJoin.get(u) !== before.get(u));
    expect(moved.every((u) => afterJoin.get(u) === 'd')).toBe(true);
    expect(Math.abs(moved.length - 750)).toBeLessThan(200);
  });
});

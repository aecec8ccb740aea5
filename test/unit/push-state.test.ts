import { describe, expect, it } from 'vitest';
import { PUSH_STATES, TERMINAL_STATES, canTransition, isPushState, isTerminal, type PushState } from '../../src/push/store/push-state.js';

describe('push lifecycle (every accepted push ends in exactly one terminal state)', () => {
  it('has exactly the terminal states of the contract', () => {
    expect([...TERMINAL_STATES].sort()).toEqual([
      'cancelled',
      'delivered',
      'expired',
      'hand-back-abandoned',
      'hand-back-refused',
      'handed-back',
      'unconfirmed',
    ]);
    expect(isTerminal('accepted')).toBe(false);
    expect(isTerminal('handed-back')).toBe(true);
  });

  it.each<[PushState, PushState]>([
    ['accepted', 'delivering'],
    ['accepted', 'handing-back'],
    ['accepted', 'expired'],
    ['accepted', 'cancelled'],
    ['delivering', 'delivered'],
    ['delivering', 'handing-back'],
    ['delivering', 'expired'],
    ['delivering', 'accepted'],
    ['delivering', 'unconfirmed'],
    ['handing-back', 'handed-back'],
    ['handing-back', 'expired'],
  ])('allows %s → %s', (from, to) => {
    expect(canTransition(from, to)).toBe(true);
  });

  it.each<[PushState, PushState]>([
    ['accepted', 'delivered'],
    ['accepted', 'handed-back'],
    ['accepted', 'accepted'],
    ['delivering', 'cancelled'],
    ['handing-back', 'delivered'],
    ['handing-back', 'cancelled'],
    ['handing-back', 'accepted'],
    ['accepted', 'unconfirmed'],
    ['unconfirmed', 'accepted'],
  ])('refuses %s → %s', (from, to) => {
    expect(canTransition(from, to)).toBe(false);
  });

  it('lets nothing leave a terminal state', () => {
    for (const from of TERMINAL_STATES) {
      for (const to of PUSH_STATES) expect(canTransition(from, to), `${from} → ${to}`).toBe(false);
    }
  });

  it('reaches a terminal state from every state', () => {
    for (const start of PUSH_STATES) {
      const seen = new Set<PushState>([start]);
      const queue = [start];
      while (queue.length > 0) {
        const s = queue.shift() as PushState;
        for (const next of PUSH_STATES) {
          if (canTransition(s, next) && !seen.has(next)) {
            seen.add(next);
            queue.push(next);
          }
        }
      }
      expect([...seen].some(isTerminal), start).toBe(true);
    }
  });

  it('recognises stored state strings', () => {
    expect(isPushState('handing-back')).toBe(true);
    expect(isPushState('pending')).toBe(false);
  });
});

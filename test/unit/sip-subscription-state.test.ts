import { describe, expect, it } from 'vitest';
import { parseDeltaSeconds, parseSubscriptionState } from '../../src/sip/subscription-state.js';
import { refreshDelaySeconds } from '../../src/sip/subscriber-lifecycle.js';

describe('parseSubscriptionState (RFC 6665 §8.2.3)', () => {
  it('parses active with expires', () => {
    expect(parseSubscriptionState('active;expires=600')).toEqual({ state: 'active', expires: 600 });
  });

  it('parses terminated with reason and retry-after, case-insensitively and with spaces', () => {
    expect(parseSubscriptionState('Terminated ; Reason=Timeout ; retry-after = 30')).toEqual({
      state: 'terminated',
      reason: 'timeout',
      retryAfter: 30,
    });
  });

  it('keeps pending and unknown extension states, ignores unknown params', () => {
    expect(parseSubscriptionState('pending;foo=bar;expires=10')).toEqual({ state: 'pending', expires: 10 });
    expect(parseSubscriptionState('waiting')).toEqual({ state: 'waiting' });
  });

  it('ignores non-numeric expires', () => {
    expect(parseSubscriptionState('active;expires=soon')).toEqual({ state: 'active' });
  });

  it('returns undefined for a missing or empty value', () => {
    expect(parseSubscriptionState(undefined)).toBeUndefined();
    expect(parseSubscriptionState('')).toBeUndefined();
    expect(parseSubscriptionState(';expires=3')).toBeUndefined();
  });

  it('parses delta-seconds with a trailing comment (Retry-After form)', () => {
    expect(parseDeltaSeconds('120 (maintenance);duration=60')).toBe(120);
    expect(parseDeltaSeconds('x')).toBeUndefined();
  });
});

describe('refreshDelaySeconds (RFC 6665 §4.1.2.2)', () => {
  it('refreshes at 90 % of a short expiry and 30 s before a long one', () => {
    expect(refreshDelaySeconds(60)).toBe(54);
    expect(refreshDelaySeconds(3600)).toBe(3570);
    expect(refreshDelaySeconds(1)).toBe(1);
  });
});

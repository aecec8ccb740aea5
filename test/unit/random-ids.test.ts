/**
 * The identifiers a push and its transactions carry (RFC 3261 §8.1.1.4 Call-ID, §8.1.1.7 branch, §19.3
 * tags) come from one pooled random source: they must still be unique, well-formed and random enough —
 * also across the pool's refills, where a rewound or reused buffer would repeat values.
 */
import { describe, expect, it } from 'vitest';
import { newMessageIdentity } from '../../src/push/delivery/message-identity.js';
import { MAX_DRAW_BYTES, randomHex } from '../../src/lib/random-pool.js';
import { BRANCH_COOKIE, newBranch, newCallId, newTag } from '../../src/sip/embedded/identifiers.js';

// 20,000 pushes' worth of draws: ~2.5 MB of pool, i.e. several hundred refills of the 4 KiB pool.
const N = 20_000;

describe('pooled random identifiers', () => {
  it('Call-IDs, From tags and branches are unique across pushes and pool refills', () => {
    const seen = new Set<string>();
    for (let i = 0; i < N; i++) {
      const identity = newMessageIdentity();
      const branch = newBranch();
      const tag = newTag();
      const callId = newCallId('::1');
      for (const value of [identity.callId, identity.fromTag, branch, tag, callId]) seen.add(value);
    }
    expect(seen.size).toBe(5 * N);
  });

  it('values have the RFC 3261 shapes and their random parts their full length', () => {
    const identity = newMessageIdentity();
    expect(identity.callId).toMatch(/^[0-9a-f]{24}@sip-push-agent$/);
    expect(identity.fromTag).toMatch(/^[0-9a-f]{12}$/); // 48 bits ≥ the 32 of §19.3
    expect(identity.cseq).toBe(1);
    expect(newBranch()).toMatch(new RegExp(`^${BRANCH_COOKIE}[0-9a-f]{20}$`)); // §8.1.1.7 magic cookie
    expect(newTag()).toMatch(/^[0-9a-f]{12}$/);
    expect(newCallId('::1')).toMatch(/^[0-9a-f]{24}@\[::1\]$/);
    expect(newCallId('10.0.0.1')).toMatch(/^[0-9a-f]{24}@10\.0\.0\.1$/);
  });

  it('the Call-ID and From tag of one identity are different bytes of the draw', () => {
    for (let i = 0; i < 1000; i++) {
      const { callId, fromTag } = newMessageIdentity();
      expect(callId.slice(0, 24)).not.toContain(fromTag);
    }
  });

  it('hex digits are evenly used (no stuck or zeroed pool)', () => {
    const counts = new Map<string, number>();
    let total = 0;
    for (let i = 0; i < 5000; i++) {
      for (const ch of randomHex(16)) {
        counts.set(ch, (counts.get(ch) ?? 0) + 1);
        total += 1;
      }
    }
    expect(counts.size).toBe(16);
    // 160,000 digits, 10,000 expected each; ±10 % is > 25 standard deviations.
    for (const n of counts.values()) expect(Math.abs(n - total / 16)).toBeLessThan(total / 160);
  });

  it('refuses draws outside 1…MAX_DRAW_BYTES', () => {
    expect(() => randomHex(0)).toThrow(RangeError);
    expect(() => randomHex(MAX_DRAW_BYTES + 1)).toThrow(RangeError);
    expect(randomHex(MAX_DRAW_BYTES)).toMatch(new RegExp(`^[0-9a-f]{${2 * MAX_DRAW_BYTES}}$`));
  });
});

/**
 * Transaction and dialog identifiers, all from the pooled random source (src/lib/random-pool.ts).
 */
import { randomHex } from '../../lib/random-pool.js';

/** RFC 3261 §8.1.1.7: branch IDs start with the magic cookie `z9hG4bK`. */
export const BRANCH_COOKIE = 'z9hG4bK';

/** A branch unique in space and time (§8.1.1.7): the cookie and 80 random bits. */
export function newBranch(): string {
  return BRANCH_COOKIE + randomHex(10);
}

/** RFC 3261 §19.3: tags need at least 32 bits of randomness; 48 here. */
export function newTag(): string {
  return randomHex(6);
}

/** RFC 3261 §8.1.1.4: globally unique Call-ID (96 random bits @ host). */
export function newCallId(host: string): string {
  return `${randomHex(12)}@${host.includes(':') ? `[${host}]` : host}`;
}

import { randomBytes } from 'node:crypto';

/** RFC 3261 §8.1.1.7: branch IDs start with the magic cookie `z9hG4bK`. */
export const BRANCH_COOKIE = 'z9hG4bK';

export function newBranch(): string {
  return BRANCH_COOKIE + randomBytes(10).toString('hex');
}

/** RFC 3261 §19.3: tags need at least 32 bits of randomness. */
export function newTag(): string {
  return randomBytes(6).toString('hex');
}

/** RFC 3261 §8.1.1.4: globally unique Call-ID. */
export function newCallId(host: string): string {
  return `${randomBytes(12).toString('hex')}@${host.includes(':') ? `[${host}]` : host}`;
}

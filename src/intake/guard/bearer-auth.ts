/**
 * `Authorization: Bearer <token>` check for the admin API (RFC 6750 §2.1). Both sides are hashed
 * before a constant-time compare, so neither the token's length nor a prefix leaks through timing.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

/** True when `authorization` carries exactly `token` (scheme case-insensitive, RFC 7235 §2.1). */
export function bearerMatches(authorization: string | undefined, token: string): boolean {
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(authorization ?? '');
  const presented = match?.[1] ?? '';
  // Compare even when nothing was presented: same work either way.
  const equal = timingSafeEqual(digest(presented), digest(token));
  return match !== null && equal;
}

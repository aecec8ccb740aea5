/**
 * Random identifiers drawn from one pooled buffer of CSPRNG bytes: a push needs a Call-ID, a From tag
 * and a branch per transaction, and one `randomFillSync` per 4 KiB instead of a `randomBytes` call per
 * identifier keeps that cheap (the call, not the entropy, is what costs). Every byte is handed out once:
 * the offset only moves forward and the pool is refilled, never rewound. Not for keys or secrets — only
 * for identifiers whose requirement is uniqueness and unguessability (RFC 3261 §8.1.1.4 Call-ID,
 * §8.1.1.7 branch, §19.3 tags).
 */
import { randomFillSync } from 'node:crypto';

const POOL_BYTES = 4096;
/** The most one draw may take: a draw never straddles a refill. */
export const MAX_DRAW_BYTES = 64;

let pool = Buffer.alloc(0);
let offset = 0;

/** `bytes` fresh random bytes (1…{@link MAX_DRAW_BYTES}) as lower-case hex, 2 characters per byte. */
export function randomHex(bytes: number): string {
  if (!(bytes >= 1 && bytes <= MAX_DRAW_BYTES)) throw new RangeError(`randomHex draws 1…${MAX_DRAW_BYTES} bytes, not ${bytes}`);
  if (offset + bytes > pool.length) {
    pool = randomFillSync(Buffer.allocUnsafe(POOL_BYTES));
    offset = 0;
  }
  const hex = pool.toString('hex', offset, offset + bytes);
  offset += bytes;
  return hex;
}

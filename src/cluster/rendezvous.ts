/**
 * Rendezvous (highest-random-weight) hashing: every agent computes, from the same list of live members,
 * the same owner for a key, with no coordination; when a member leaves only its own keys move, when one
 * joins only ~1/N of the keys move to it (Thaler & Ravishankar, "Using name-based mappings to increase hit
 * rates", IEEE/ACM ToN 1998). In cluster mode it says which agent *should* hold a watched user's presence
 * subscription; the per-user lease in Redis decides who *does*, so a disagreement during a membership
 * change never yields two subscriptions.
 */

/** 32-bit FNV-1a over UTF-16 code units, then the MurmurHash3 finaliser so nearby keys spread well. */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The member with the highest weight for `key`; ties (vanishingly rare) go to the smaller member id. */
export function ownerOf(key: string, members: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestWeight = -1;
  for (const member of members) {
    const weight = hash32(`${member}\u0000${key}`);
    if (weight > bestWeight || (weight === bestWeight && best !== undefined && member < best)) {
      best = member;
      bestWeight = weight;
    }
  }
  return best;
}

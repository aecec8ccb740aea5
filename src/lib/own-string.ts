/**
 * A flat copy of a string that shares no memory with the one it came from. V8 represents a substring of
 * 13 or more characters as a slice of its parent, and a concatenation as a pair of pointers, so a short
 * value kept from a parsed message (a tag, a URI, a tuple id in a reason) would keep the whole message
 * text alive for as long as it is kept. Going through UTF-8 bytes builds a new sequential string.
 */
export function ownString(s: string): string {
  return Buffer.from(s, 'utf8').toString('utf8');
}

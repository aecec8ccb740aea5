/**
 * Telling a new presence document from a re-sent one (pure).
 *
 * A notifier re-sends the current document on every subscription refresh (RFC 6665 §4.2.1.2: a NOTIFY
 * follows each SUBSCRIBE), so "a NOTIFY arrived" is no news. A document is new when its normalised
 * content differs from the last one: the digest is taken over the element tree — namespace URIs instead
 * of prefixes, attributes sorted, text trimmed, whitespace between elements ignored — so re-serialising
 * the same state gives the same digest, while any change of content, of a `<timestamp>` (RFC 3863
 * §4.1.7) or of a version attribute gives another.
 */
import { createHash } from 'node:crypto';
import type { XmlElement } from '../lib/xml/xml-element-tree.js';

function canonical(el: XmlElement, out: string[]): void {
  out.push('<', el.ns, '|', el.local);
  for (const key of Object.keys(el.attrs).sort()) out.push(' ', key, '=', JSON.stringify(el.attrs[key]));
  out.push('>', JSON.stringify(el.text));
  for (const child of el.children) canonical(child, out);
  out.push('</>');
}

/**
 * The first 128 bits of SHA-256 (base64url, 22 characters) of the canonical form of a parsed PIDF element
 * tree: only compared for equality, and kept in every capability entry, so short.
 */
export function presenceDigest(root: XmlElement): string {
  const out: string[] = [];
  canonical(root, out);
  return createHash('sha256').update(out.join('')).digest().subarray(0, 16).toString('base64url');
}

/** The newest RFC 3863 `<timestamp>` among the tuples, in ms since the epoch; undefined when none parses. */
export function newestTimestamp(timestamps: Array<string | undefined>): number | undefined {
  let newest: number | undefined;
  for (const t of timestamps) {
    const at = t === undefined ? NaN : Date.parse(t);
    if (!Number.isNaN(at) && (newest === undefined || at > newest)) newest = at;
  }
  return newest;
}

/**
 * `parsePresence`: a NOTIFY body (Event: presence) → a typed {@link PresenceSnapshot}. Pure, no I/O.
 *
 * Implements the reading side of RFC 3863 (PIDF), RFC 4479 (data model), RFC 4480 (RPID), RFC 5196 (caps)
 * and the OMA Presence SIMPLE extensions (docs/standards.md §4.2).
 *
 * Safety (the body comes from the network):
 * - any `<!DOCTYPE` or `<!ENTITY` is refused before parsing: no external entities (XXE), no entity
 *   expansion (billion laughs); only the five predefined entities and character references are decoded;
 * - size (`maxBytes`, default 64 KiB) and element nesting (`maxDepth`, default 32) are bounded;
 * - anything malformed throws `AgentError('PIDF_INVALID')` whose message names what is wrong; nothing
 *   else is ever thrown.
 *
 * An empty (or whitespace-only) body is not an error: it returns `{ kind: 'empty' }` (RFC 6665 "no state
 * now"; Kamailio sends it initially and when a publication expires — docs/interop.md).
 */
import { AgentError, ErrorCodes } from '../errors.js';
import { readDevice, readPerson, readTuple } from './pidf-elements.js';
import { PidfNs } from './pidf-namespaces.js';
import { newestTimestamp, presenceDigest } from './presence-digest.js';
import type { PresenceSnapshot } from '../capabilities/presence-snapshot.js';
import { buildElementTree, childrenNamed, XmlTreeError, type XmlElement } from '../lib/xml/xml-element-tree.js';

export interface PresenceParseOptions {
  /** Largest body accepted, in bytes (default 64 KiB). */
  maxBytes?: number;
  /** Deepest element nesting accepted (default 32; a PIDF document needs about 7). */
  maxDepth?: number;
  /** Stamp for `receivedAt` (default `Date.now()`). */
  receivedAt?: number;
}

export const DEFAULT_MAX_PIDF_BYTES = 64 * 1024;
export const DEFAULT_MAX_PIDF_DEPTH = 32;

/** Media types carrying a single PIDF document (RFC 3863 §7; some servers label it generic XML). */
const PIDF_MEDIA_TYPES = new Set(['application/pidf+xml', 'application/cpim-pidf+xml', 'application/xml', 'text/xml']);

function invalid(message: string, cause?: unknown): AgentError {
  return new AgentError(ErrorCodes.PIDF_INVALID, message, 'body', cause === undefined ? undefined : { cause });
}

/**
 * Parses a presence NOTIFY body.
 * @param body raw NOTIFY body bytes (an empty Buffer when the NOTIFY had none)
 * @param contentType the NOTIFY's Content-Type, when it had one; non-PIDF types are refused
 * @throws AgentError `PIDF_INVALID` (and nothing else)
 */
export function parsePresence(body: Buffer, contentType?: string, options: PresenceParseOptions = {}): PresenceSnapshot {
  const receivedAt = options.receivedAt ?? Date.now();
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_PIDF_BYTES;
  if (body.length > maxBytes) throw invalid(`presence body is ${body.length} bytes, above the ${maxBytes}-byte limit`);
  const text = decodeBody(body);
  if (text.trim() === '') return { kind: 'empty', receivedAt };
  checkContentType(contentType);
  if (/<!DOCTYPE/i.test(text)) throw invalid('presence body has a <!DOCTYPE>: refused (no DTDs, no external entities)');
  if (/<!ENTITY/i.test(text)) throw invalid('presence body declares an <!ENTITY>: refused (no entity expansion)');
  let root: XmlElement;
  try {
    root = buildElementTree(text, options.maxDepth ?? DEFAULT_MAX_PIDF_DEPTH);
  } catch (err) {
    if (err instanceof XmlTreeError) throw invalid(`presence body: ${err.message}`, err);
    throw invalid(`presence body could not be parsed: ${String((err as Error)?.message ?? err)}`, err);
  }
  return readDocument(root, receivedAt);
}

function decodeBody(body: Buffer): string {
  // UTF-8 is what PIDF uses in practice (RFC 3863 §7 requires UTF-8 or UTF-16 support); honour a BOM.
  if (body.length >= 2 && body[0] === 0xff && body[1] === 0xfe) return body.subarray(2).toString('utf16le');
  if (body.length >= 2 && body[0] === 0xfe && body[1] === 0xff) {
    const swapped = Buffer.from(body.subarray(2, body.length - (body.length % 2)));
    return swapped.swap16().toString('utf16le');
  }
  const text = body.toString('utf8');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

function checkContentType(contentType: string | undefined): void {
  if (contentType === undefined || contentType.trim() === '') return;
  const media = contentType.split(';')[0].trim().toLowerCase();
  if (!PIDF_MEDIA_TYPES.has(media)) {
    throw invalid(`Content-Type '${media.slice(0, 60)}' is not a PIDF document (expected application/pidf+xml)`);
  }
}

function readDocument(root: XmlElement, receivedAt: number): PresenceSnapshot {
  if (root.local !== 'presence' || root.ns !== PidfNs.pidf) {
    const ns = root.ns ? `{${root.ns.slice(0, 60)}}` : '(no namespace)';
    throw invalid(`root element is <${root.local.slice(0, 40)}> in ${ns}, expected <presence> in ${PidfNs.pidf}`);
  }
  const entity = root.attrs.entity;
  if (!entity) throw invalid('<presence> has no entity attribute (RFC 3863 §4.1.1 requires it)');
  const warnings: string[] = [];
  const warn = (w: string): void => {
    if (warnings.length < 20) warnings.push(w);
  };
  const tuples = childrenNamed(root, PidfNs.pidf, 'tuple').map((t, i) => readTuple(t, i, warn));
  const newest = newestTimestamp(tuples.map((t) => t.timestamp));
  return {
    kind: 'document',
    entity,
    tuples,
    persons: childrenNamed(root, PidfNs.dataModel, 'person').map((p, i) => readPerson(p, i, warn)),
    devices: childrenNamed(root, PidfNs.dataModel, 'device').map((d, i) => readDevice(d, i, warn)),
    notes: childrenNamed(root, PidfNs.pidf, 'note')
      .map((n) => n.text)
      .filter((t) => t !== ''),
    warnings,
    receivedAt,
    digest: presenceDigest(root),
    ...(newest !== undefined && { newestTimestamp: newest }),
  };
}

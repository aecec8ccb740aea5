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
import { readXmlBody } from '../lib/xml/xml-body.js';
import { childrenNamed, type XmlElement } from '../lib/xml/xml-element-tree.js';

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
  const root = readXmlBody(body, contentType, {
    what: 'presence',
    documentName: 'a PIDF document',
    expectedType: 'application/pidf+xml',
    mediaTypes: PIDF_MEDIA_TYPES,
    maxBytes: options.maxBytes ?? DEFAULT_MAX_PIDF_BYTES,
    maxDepth: options.maxDepth ?? DEFAULT_MAX_PIDF_DEPTH,
    invalid,
  });
  return root === undefined ? { kind: 'empty', receivedAt } : readDocument(root, receivedAt);
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

/**
 * `parseReginfo`: an `Event: reg` NOTIFY body → a typed {@link ReginfoSnapshot} (RFC 3680). Pure, no I/O.
 *
 * Hardened like the PIDF parser (the body comes from the network):
 * - any `<!DOCTYPE` or `<!ENTITY` is refused before parsing (no external entities, no entity expansion);
 * - size (`maxBytes`, default 64 KiB) and element nesting (`maxDepth`, default 16; a reginfo document
 *   needs 5) are bounded, and so are registrations × contacts (`maxContacts`, default 256);
 * - anything malformed throws `AgentError('REGINFO_INVALID')` whose message names what is wrong; nothing
 *   else is ever thrown.
 *
 * Elements of other namespaces (GRUU `pub-gruu`, vendor data) are skipped (RFC 3680 §5.4 allows them).
 */
import { AgentError, ErrorCodes } from '../errors.js';
import { readXmlBody } from '../lib/xml/xml-body.js';
import { childNamed, childrenNamed, type XmlElement } from '../lib/xml/xml-element-tree.js';
import {
  CONTACT_EVENTS,
  REGINFO_NS,
  type ContactEvent,
  type RegContact,
  type Registration,
  type ReginfoSnapshot,
} from './reginfo-document.js';

export interface ReginfoParseOptions {
  maxBytes?: number;
  maxDepth?: number;
  /** Most contacts accepted over all registrations of one document. */
  maxContacts?: number;
  receivedAt?: number;
}

export const DEFAULT_MAX_REGINFO_BYTES = 64 * 1024;
export const DEFAULT_MAX_REGINFO_DEPTH = 16;
export const DEFAULT_MAX_REGINFO_CONTACTS = 256;

const REGINFO_MEDIA_TYPES = new Set(['application/reginfo+xml', 'application/xml', 'text/xml']);

function invalid(message: string, cause?: unknown): AgentError {
  return new AgentError(ErrorCodes.REGINFO_INVALID, message, 'body', cause === undefined ? undefined : { cause });
}

/**
 * Parses a reg NOTIFY body.
 * @throws AgentError `REGINFO_INVALID` (and nothing else)
 */
export function parseReginfo(body: Buffer, contentType?: string, options: ReginfoParseOptions = {}): ReginfoSnapshot {
  const receivedAt = options.receivedAt ?? Date.now();
  const root = readXmlBody(body, contentType, {
    what: 'reginfo',
    documentName: 'a reginfo document',
    expectedType: 'application/reginfo+xml',
    mediaTypes: REGINFO_MEDIA_TYPES,
    maxBytes: options.maxBytes ?? DEFAULT_MAX_REGINFO_BYTES,
    maxDepth: options.maxDepth ?? DEFAULT_MAX_REGINFO_DEPTH,
    invalid,
  });
  if (root === undefined) return { kind: 'empty', receivedAt };
  return readDocument(root, receivedAt, options.maxContacts ?? DEFAULT_MAX_REGINFO_CONTACTS);
}

function readDocument(root: XmlElement, receivedAt: number, maxContacts: number): ReginfoSnapshot {
  if (root.local !== 'reginfo' || root.ns !== REGINFO_NS) {
    const ns = root.ns ? `{${root.ns.slice(0, 60)}}` : '(no namespace)';
    throw invalid(`root element is <${root.local.slice(0, 40)}> in ${ns}, expected <reginfo> in ${REGINFO_NS}`);
  }
  const version = nonNegativeInt(root.attrs.version);
  if (version === undefined)
    throw invalid(`<reginfo> version '${String(root.attrs.version).slice(0, 20)}' is not a non-negative integer (RFC 3680 §5.3)`);
  const state = root.attrs.state;
  if (state !== 'full' && state !== 'partial') throw invalid(`<reginfo> state '${String(state).slice(0, 20)}' is not full or partial`);
  const warnings: string[] = [];
  const warn = (w: string): void => {
    if (warnings.length < 20) warnings.push(w);
  };
  let contactCount = 0;
  const registrations = childrenNamed(root, REGINFO_NS, 'registration').map((el, i) => {
    const registration = readRegistration(el, i, warn);
    contactCount += registration.contacts.length;
    if (contactCount > maxContacts) throw invalid(`reginfo lists more than ${maxContacts} contacts`);
    return registration;
  });
  return { kind: 'document', version, state, registrations, warnings, receivedAt };
}

function readRegistration(el: XmlElement, index: number, warn: (w: string) => void): Registration {
  const where = `<registration> #${index + 1}`;
  const aor = el.attrs.aor;
  if (!aor) throw invalid(`${where} has no aor attribute`);
  const id = el.attrs.id;
  if (!id) throw invalid(`${where} (${aor.slice(0, 60)}) has no id attribute`);
  const state = el.attrs.state;
  if (state !== 'init' && state !== 'active' && state !== 'terminated') {
    throw invalid(`${where} state '${String(state).slice(0, 20)}' is not init, active or terminated`);
  }
  const contacts = childrenNamed(el, REGINFO_NS, 'contact').map((c, i) => readContact(c, `${where} <contact> #${i + 1}`, warn));
  return { aor, id, state, contacts };
}

function readContact(el: XmlElement, where: string, warn: (w: string) => void): RegContact {
  const id = el.attrs.id;
  if (!id) throw invalid(`${where} has no id attribute`);
  const state = el.attrs.state;
  if (state !== 'active' && state !== 'terminated')
    throw invalid(`${where} state '${String(state).slice(0, 20)}' is not active or terminated`);
  const uri = childNamed(el, REGINFO_NS, 'uri')?.text;
  if (!uri) throw invalid(`${where} has no <uri>`);
  const contact: RegContact = { id, state, uri, params: {} };
  const event = el.attrs.event;
  if ((CONTACT_EVENTS as readonly string[]).includes(event ?? '')) contact.event = event as ContactEvent;
  else warn(`${where}: event '${String(event ?? '').slice(0, 20)}' is not an RFC 3680 contact event`);
  const expires = nonNegativeInt(el.attrs.expires);
  if (expires !== undefined) contact.expires = expires;
  else if (el.attrs.expires !== undefined) warn(`${where}: expires '${el.attrs.expires.slice(0, 20)}' ignored`);
  const q = el.attrs.q === undefined ? undefined : Number(el.attrs.q);
  if (q !== undefined && Number.isFinite(q) && q >= 0 && q <= 1) contact.q = q;
  const displayName = childNamed(el, REGINFO_NS, 'display-name')?.text;
  if (displayName) contact.displayName = displayName;
  for (const param of childrenNamed(el, REGINFO_NS, 'unknown-param')) {
    const name = param.attrs.name?.trim().toLowerCase();
    if (!name) {
      warn(`${where}: <unknown-param> without a name ignored`);
      continue;
    }
    // Object.create(null)-like safety: names such as __proto__ must not reach the prototype.
    if (Object.hasOwn(Object.prototype, name)) continue;
    contact.params[name] = param.text.replace(/^"(.*)"$/s, '$1');
  }
  return contact;
}

function nonNegativeInt(value: string | undefined): number | undefined {
  if (value === undefined || !/^\s*\d{1,10}\s*$/.test(value)) return undefined;
  return Number(value);
}

import type { SipHeaders } from '../port.js';

/** Headers the engine or drachtio-server owns; the port forbids callers from setting them. */
const RESERVED = new Set(['via', 'call-id', 'cseq', 'content-length', 'from', 'to']);

/**
 * Port headers → drachtio-srf header map. srf wants one string per name, so repeated values are joined
 * with ", " (RFC 3261 §7.3.1 allows it for list headers). Reserved headers are dropped. Pure.
 */
export function toSrfHeaders(headers: SipHeaders | undefined, extra: Record<string, string | undefined> = {}): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (RESERVED.has(name.toLowerCase())) continue;
    out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  for (const [name, value] of Object.entries(extra)) if (value !== undefined) out[name] = value;
  return out;
}

/** A received message's headers as the port carries them: lower-case names, each value in an array. Pure. */
export function fromSrfHeaders(headers: Record<string, string> | undefined): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    const key = name.toLowerCase();
    const values = out[key];
    if (values) values.push(String(value));
    else out[key] = [String(value)];
  }
  return out;
}

/** The bare URI inside a name-addr or addr-spec (`"A" <sip:a@b>;tag=x` → `sip:a@b`). Pure. */
export function uriOf(nameAddr: string | undefined): string {
  if (!nameAddr) return '';
  const angle = /<([^>]*)>/.exec(nameAddr);
  return (angle ? angle[1] : nameAddr.split(';')[0]).trim();
}

import { describe, expect, it } from 'vitest';
import { parsePresence } from '../../src/presence/pidf-parser.js';
import type { PresenceDocument } from '../../src/capabilities/presence-snapshot.js';

const doc = (xml: string): PresenceDocument => {
  const s = parsePresence(Buffer.from(xml), 'application/pidf+xml');
  if (s.kind !== 'document') throw new Error('expected a document');
  return s;
};
const pidf = (basic: string, extra = '', prefix = '') =>
  `<?xml version="1.0"?><${prefix}presence xmlns${prefix ? `:${prefix.slice(0, -1)}` : ''}="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.com">` +
  `<${prefix}tuple id="t1"><${prefix}status><${prefix}basic>${basic}</${prefix}basic></${prefix}status>${extra}</${prefix}tuple></${prefix}presence>`;

describe('presence document digest', () => {
  it('is equal for the same document re-sent, re-indented or with other namespace prefixes', () => {
    const a = doc(pidf('open'));
    expect(doc(pidf('open')).digest).toBe(a.digest);
    expect(doc(pidf('open').replace(/></g, '>\n  <')).digest).toBe(a.digest);
    expect(doc(pidf('open', '', 'p:')).digest).toBe(a.digest);
  });
  it('differs when content, a <timestamp> or a version attribute changes', () => {
    const a = doc(pidf('open'));
    expect(doc(pidf('closed')).digest).not.toBe(a.digest);
    const t1 = doc(pidf('open', '<timestamp>2026-11-29T10:00:00Z</timestamp>'));
    const t2 = doc(pidf('open', '<timestamp>2026-11-29T10:00:05Z</timestamp>'));
    expect(t1.digest).not.toBe(a.digest);
    expect(t2.digest).not.toBe(t1.digest);
    expect(t2.newestTimestamp).toBe(Date.parse('2026-11-29T10:00:05Z'));
    const v1 = pidf('open').replace('entity=', 'version="1" entity=');
    const v2 = pidf('open').replace('entity=', 'version="2" entity=');
    expect(doc(v1).digest).not.toBe(doc(v2).digest);
  });
});

/**
 * Child process of the scale experiment (run with `node --expose-gc --import tsx`): fills a
 * CapabilityTable with N users, each from its own PIDF NOTIFY body (as Kamailio sends it after a
 * PUBLISH like test/sipp/publish-csv.xml) parsed by the real parser, and prints one JSON line:
 * heap and RSS delta after GC, bytes per entry, NOTIFYs/s processed (parse + record).
 * Usage: capability-memory.ts <users>
 */
import { CapabilityTable } from '../../src/capabilities/capability-table.js';
import { loadProfile } from '../../src/profiles/load-profile.js';
import { parsePresence } from '../../src/presence/pidf-parser.js';

const users = Number(process.argv[2] ?? '100000');
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');

function pidf(user: string, basic: 'open' | 'closed'): Buffer {
  return Buffer.from(
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
      `<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:op="urn:oma:xml:prs:pidf:oma-pres" xmlns:caps="urn:ietf:params:xml:ns:pidf:caps" entity="sip:${user}@127.0.0.1">\n` +
      `<tuple id="push1">\n<status><basic>${basic}</basic></status>\n` +
      '<op:service-description>\n<op:service-id>org.openmobilealliance:Push</op:service-id>\n<op:version>1.0</op:version>\n</op:service-description>\n' +
      '<caps:servcaps>\n<caps:methods><caps:supported><caps:MESSAGE/></caps:supported></caps:methods>\n</caps:servcaps>\n' +
      `<contact>sip:${user}@127.0.0.1</contact>\n</tuple>\n</presence>\n`,
  );
}

function settle(): NodeJS.MemoryUsage {
  for (let i = 0; i < 4; i++) gc?.();
  return process.memoryUsage();
}

const table = new CapabilityTable({ maxUsers: users, profile: loadProfile('kamailio-lab') });
const base = settle();
const t0 = performance.now();
for (let i = 0; i < users; i++) {
  const user = `u${String(i).padStart(8, '0')}`;
  const body = pidf(user, i % 4 === 3 ? 'closed' : 'open');
  table.recordPresence(`sip:${user}@127.0.0.1`, parsePresence(body, 'application/pidf+xml'));
}
const fillS = (performance.now() - t0) / 1000;
const after = settle();
const size = table.stats().size;
// Keep the table reachable until after the measurement.
console.log(
  JSON.stringify({
    users,
    size,
    // The in-process store keeps entries in typed arrays, outside the V8 heap: counted with it.
    heapDeltaMb: (after.heapUsed + after.arrayBuffers - base.heapUsed - base.arrayBuffers) / 1048576,
    rssDeltaMb: (after.rss - base.rss) / 1048576,
    bytesPerEntry: (after.heapUsed + after.arrayBuffers - base.heapUsed - base.arrayBuffers) / size,
    notifiesPerS: users / fillS,
    decideProbe: table.decide('sip:u00000000@127.0.0.1').reachability,
  }),
);

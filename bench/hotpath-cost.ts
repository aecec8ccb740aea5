import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoRoot } from '../test/support/repo-paths.js';
import { checkoutLabel } from './cost.js';
import { fmt } from './lib/percentiles.js';
import { table } from './lib/report.js';
import { runJsonChild } from './lib/json-child.js';

const PIECES = ['pap', 'message', 'ids'] as const;
type Piece = (typeof PIECES)[number];
type Result = Record<Piece, number>;

const CONTROL =
  '<?xml version="1.0"?>\n<!DOCTYPE pap PUBLIC "-//WAPFORUM//DTD PAP 2.0//EN" "http://www.wapforum.org/DTD/pap_2.0.dtd">\n' +
  '<pap>\n  <push-message push-id="bench-0001@ppg.example.com" deliver-before-timestamp="2099-01-01T00:00:00Z"\n' +
  '      source-reference="bench-pi" ppg-notify-requested-to="http://127.0.0.1:9/notify">\n' +
  '    <address address-value="WAPPUSH=sip%3Aalice%40127.0.0.1/TYPE=USER"/>\n' +
  '    <quality-of-service priority="high" delivery-method="unconfirmed" bearer="SMS"/>\n' +
  '  </push-message>\n</pap>\n';
const SI = Buffer.from([0x02, 0x05, 0x6a, 0x00, 0x45, 0xc6, 0x0c, 0x03, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x00, 0x01, 0x01]);
const BOUNDARY = 'bench-boundary';
const BODY = Buffer.concat([
  Buffer.from(`--${BOUNDARY}\r\nContent-Type: application/xml\r\n\r\n${CONTROL}\r\n--${BOUNDARY}\r\n`),
  Buffer.from('Content-Type: application/vnd.wap.sic\r\nX-Wap-Application-Id: x-wap-application:wml.ua\r\n\r\n'),
  SI,
  Buffer.from(`\r\n--${BOUNDARY}--\r\n`),
]);
const CONTENT_TYPE = `multipart/related; boundary=${BOUNDARY}; type="application/xml"`;

// biome-ignore lint/suspicious/noExplicitAny: the child loads two checkouts' modules whose shapes differ slightly
type Any = any;

async function load(root: string, path: string): Promise<Any> {
  return import(pathToFileURL(resolve(root, path)).href);
}

/** In the child: time each piece `pushes` times, print `{"pap": µs, …}`. */
async function child(root: string, pushes: number): Promise<void> {
  const parser = await load(root, 'src/push/pap/pap-parser.ts');
  const builder = await load(root, 'src/push/pap/pap-builder.ts');
  const identity = await load(root, 'src/push/delivery/message-identity.ts');
  const sipBuilder = await load(root, 'src/push/delivery/sip-message-builder.ts');
  const profiles = await load(root, 'src/profiles/load-profile.ts');
  const outgoing = await load(root, 'src/sip/embedded/outgoing-request.ts');
  const codec = await load(root, 'src/sip/embedded/message-codec.ts');
  const ids = await load(root, 'src/sip/embedded/identifiers.ts');
  const nameAddr = await load(root, 'src/sip/name-addr.ts');
  const profile = profiles.loadProfile('kamailio-lab');
  const bound = { host: '127.0.0.1', port: 5099, transport: 'udp' };
  const received = new Date();

  // The engine's wire bytes for an out-of-dialog request, as each checkout's EmbeddedEngine.request does it.
  const direct = await load(root, 'src/sip/embedded/request-encoder.ts').catch(() => undefined);
  const encode = (request: Any): Buffer => {
    const req = {
      method: request.method,
      requestUri: request.requestUri,
      from: nameAddr.formatNameAddr(request.from, request.fromDisplayName, request.identity?.fromTag ?? ids.newTag()),
      to: nameAddr.formatNameAddr(request.to ?? request.requestUri),
      callId: request.identity?.callId ?? ids.newCallId('127.0.0.1'),
      cseq: request.identity?.cseq ?? 1,
      headers: outgoing.headerPairs(request.headers),
      contentType: request.contentType,
      body: request.body,
    };
    if (direct) return direct.encodeRequest(req, bound, ids.newBranch());
    return codec.encodeMessage(outgoing.toSipMessage(req, outgoing.topVia(bound, ids.newBranch())), req.body);
  };

  let sink = 0;
  const parsed = parser.parsePapRequest(CONTENT_TYPE, BODY).push;
  const run: Record<Piece, () => void> = {
    pap: () => {
      const request = parser.parsePapRequest(CONTENT_TYPE, BODY);
      const push = request.push;
      sink += builder.buildPushResponse({ pushId: push.pushId, code: 1001, replyTime: received, version: push.papVersion }).length;
      sink += builder.buildResultNotification({
        pushId: push.pushId,
        address: push.addresses[0],
        messageState: 'delivered',
        code: 1000,
        eventTime: received,
        receivedTime: received,
        qos: push.qos,
        version: push.papVersion,
      }).length;
    },
    message: () => {
      const request = sipBuilder.buildPushMessageRequest(parsed, 'sip:alice@127.0.0.1', profile, {
        identity: identity.newMessageIdentity(),
      });
      sink += sipBuilder.estimateRequestBytes(request);
      sink += encode(request).length;
    },
    ids: () => {
      sink += identity.newMessageIdentity().callId.length + ids.newBranch().length;
    },
  };
  const result = {} as Result;
  for (const piece of PIECES) {
    for (let i = 0; i < Math.min(5000, pushes); i++) run[piece](); // JIT warm
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < pushes; i++) run[piece]();
    const cpu = process.cpuUsage(cpu0);
    result[piece] = (cpu.user + cpu.system) / pushes;
  }
  if (sink === 0) throw new Error('nothing built');
  console.log(JSON.stringify(result));
}

function measure(root: string, pushes: number): Promise<Result> {
  return runJsonChild<Result>(resolve(repoRoot, 'bench/hotpath-cost.ts'), root, [String(pushes)]);
}

async function main(argv: string[]): Promise<void> {
  if (argv[0] === '--child') return child(argv[1] as string, Number(argv[2]));
  const arg = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const roots = (arg('--agent-root') ?? repoRoot).split(',').map((d) => resolve(d));
  const pushes = Math.min(200_000, Math.max(1000, Number(arg('--pushes') ?? 20_000)));
  const rounds = Math.min(5, Math.max(1, Number(arg('--rounds') ?? 2)));
  const results = new Map<string, Result[]>();
  for (let round = 1; round <= rounds; round++) {
    for (const root of roots) {
      const name = checkoutLabel(root);
      const r = await measure(root, pushes);
      console.log(`  ${name} round ${round}: ${PIECES.map((p) => `${p} ${fmt(r[p], 2)} µs`).join(', ')}`);
      results.set(name, [...(results.get(name) ?? []), r]);
    }
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const rows = [...results].map(([name, rs]) => [
    name,
    ...PIECES.map((p) => {
      const xs = rs.map((r) => r[p]);
      return `${fmt(mean(xs), 2)} (${fmt(Math.min(...xs), 2)}–${fmt(Math.max(...xs), 2)})`;
    }),
  ]);
  console.log(
    `\n${table(['checkout', 'PAP parse + answer + notification µs', 'MESSAGE build + encode µs', 'random ids µs'], rows)}\n` +
      `(mean of ${rounds} rounds of ${pushes} pushes each; CPU time of one process, range in brackets)`,
  );
}

main(process.argv.slice(2)).catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

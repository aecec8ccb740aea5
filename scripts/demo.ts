/**
 * `npm run demo`: a delivered push in one command. Starts the project's Kamailio (registrar, presence
 * server, proxy), three SIP users played by SIPp (alice: presence open, answers MESSAGE 200; bob:
 * presence closed; carol: presence open, answers MESSAGE 480), a PPG stand-in and the agent as its own
 * process, all on free loopback ports; pushes a text and a WBXML SI to alice, one to bob, one to carol;
 * prints what happened; stops every process it started, by pid, also on Ctrl-C and on error.
 *
 * It reuses the integration-test harness (test/support/): the same real processes the tests drive.
 */
import { randomBytes } from 'node:crypto';
import { parseMultipartRelated } from '../src/push/pap/multipart.js';
import { stopAllProcesses, trackedProcesses } from '../test/support/cleanup.js';
import { labProfile, papPush, postPap, PpgStandIn, userAddress, type RecordedPost } from '../test/support/agent-under-test.js';
import { planAgent, spawnAgent } from '../test/support/agent-process.js';
import { kamailioMissingReason, startKamailio } from '../test/support/kamailio.js';
import { publishPresence, registerUser, startMessageUas } from '../test/support/sip-users.js';
import { sippMissingReason } from '../test/support/sipp.js';

/**
 * A minimal Service Indication (OMA SI 1.0) in WBXML: version 1.2, public id SI 1.0, UTF-8, then
 * <si><indication href="http://example.com/news" si-id="demo-1">News for alice</indication></si>.
 */
const WBXML_SI = Buffer.concat([
  Buffer.from([0x02, 0x05, 0x6a, 0x00, 0x45, 0xc6, 0x0c, 0x03]),
  Buffer.from('example.com/news\0', 'utf8'),
  Buffer.from([0x11, 0x03]),
  Buffer.from('demo-1\0', 'utf8'),
  Buffer.from([0x01, 0x03]),
  Buffer.from('News for alice\0', 'utf8'),
  Buffer.from([0x01, 0x01]),
]);

const startedAt = Date.now();
const out = (line = '') => console.log(line);
const indent = (text: string, prefix = '    ') =>
  text
    .replace(/\r\n/g, '\n')
    .trimEnd()
    .split('\n')
    .map((l) => prefix + l)
    .join('\n');
const attr = (xml: string, name: string) => new RegExp(`${name}="([^"]*)"`).exec(xml)?.[1];

let stopping: Promise<void> | undefined;
let interruptedBy: NodeJS.Signals | undefined;
/** Stop every process the demo started (agent, SIPp, Kamailio: each by its pid) and the PPG stand-in. */
function stopEverything(ppg?: PpgStandIn): Promise<void> {
  stopping ??= (async () => {
    const procs = trackedProcesses().map((p) => `${p.name.replace(/^sipp test\/sipp\//, 'sipp ')} (pid ${p.pid})`);
    await stopAllProcesses();
    await ppg?.stop();
    if (procs.length > 0) out(`stopped: ${procs.join(', ')}`);
  })();
  return stopping;
}

async function main(): Promise<void> {
  const missing = kamailioMissingReason() ?? sippMissingReason();
  if (missing) {
    console.error(`demo: needs Kamailio and SIPp: apt-get install kamailio kamailio-presence-modules sip-tester (${missing})`);
    process.exit(2);
  }
  const ppg = new PpgStandIn();
  // Ctrl-C reaches npm and this process both, and npm forwards it: one signal or several, stop once.
  const interrupted = (signal: NodeJS.Signals) => {
    if (stopping) return;
    interruptedBy = signal;
    out(`\n${signal}: stopping everything`);
    void stopEverything(ppg).then(() => process.exit(130));
  };
  process.on('SIGINT', interrupted);
  process.on('SIGTERM', interrupted);

  try {
    await run(ppg);
    await stopEverything(ppg);
    out(`done in ${((Date.now() - startedAt) / 1000).toFixed(1)} s`);
    process.exit(0);
  } catch (err) {
    // After a signal the run fails because its processes are gone: that is the interruption, not an error.
    if (!interruptedBy) console.error(`demo failed: ${(err as Error).message}`);
    await stopEverything(ppg);
    process.exit(interruptedBy ? 130 : 1);
  }
}

async function run(ppg: PpgStandIn): Promise<void> {
  out('sip-push-agent demo: a SIP core, three users, a PPG and the agent on loopback');
  const kamailio = await startKamailio();
  const domain = kamailio.host;
  out(
    `  Kamailio ${kamailio.version.split(' ')[1] ?? kamailio.version} at ${kamailio.host}:${kamailio.port} (docker/kamailio/kamailio.cfg), pid ${kamailio.pid}`,
  );
  await ppg.start();
  out(`  PPG stand-in at ${ppg.url('')}: hand-backs to /handback, result notifications to /notify`);

  const alice = await startMessageUas({ timeoutS: 120 });
  await registerUser(kamailio, { user: 'alice', contactPort: alice.port });
  await publishPresence(kamailio, { user: 'alice', basic: 'open' });
  out(`  alice: registered (SIPp UAS on ${alice.host}:${alice.port}, pid ${alice.pid}), presence open, answers MESSAGE with 200`);
  await publishPresence(kamailio, { user: 'bob', bare: true });
  out('  bob:   presence closed');
  const carol = await startMessageUas({ answer: 480, timeoutS: 120 });
  await registerUser(kamailio, { user: 'carol', contactPort: carol.port });
  await publishPresence(kamailio, { user: 'carol', basic: 'open' });
  out(`  carol: registered (SIPp UAS on ${carol.host}:${carol.port}, pid ${carol.pid}), presence open, answers MESSAGE with 480`);

  const token = randomBytes(16).toString('hex');
  const plan = await planAgent(labProfile(kamailio), {
    // carol's number, so her hand-back for SMS can carry TYPE=PLMN (an SMSC routes by number only).
    ppg: {
      handBackUrl: ppg.url('/handback'),
      backoff: { baseMs: 200, maxMs: 2000 },
      msisdns: { [`sip:carol@${domain}`]: '+358401234567' },
    },
    admin: { token },
    log: { level: 'warn', pretty: false },
  });
  const agent = spawnAgent(plan);
  await agent.ready(45_000);
  out(`  agent: PAP ${agent.papUrl}, SIP 127.0.0.2:${plan.sipPort}, pid ${agent.pid}`);

  out('');
  out('Pushes (PAP push-message, multipart/related, as a PPG sends it):');
  const notify = ppg.url('/notify');
  const pushes = [
    { id: 'demo-alice-text', to: 'alice', what: 'text', content: Buffer.from('Hello alice, this is a push.'), type: 'text/plain' },
    { id: 'demo-alice-si', to: 'alice', what: 'WBXML SI', content: WBXML_SI, type: 'application/vnd.wap.sic' },
    { id: 'demo-bob', to: 'bob', what: 'text', content: Buffer.from('Hello bob'), type: 'text/plain' },
    { id: 'demo-carol', to: 'carol', what: 'text', content: Buffer.from('Hello carol'), type: 'text/plain' },
  ];
  let hintLine = '';
  for (const p of pushes) {
    const aor = `sip:${p.to}@${domain}`;
    const answer = await postPap(
      agent.papUrl,
      papPush({ pushId: p.id, address: userAddress(aor), content: p.content, contentType: p.type, notifyTo: notify }),
    );
    const code = attr(answer.text, 'code');
    const hint = answer.headers.get('x-push-bearer-hint');
    const summary =
      code === '1001'
        ? '1001 accepted for SIP delivery'
        : code === '3010'
          ? `3010 handed back, hint ${hint ?? '?'}`
          : `${code} ${attr(answer.text, 'desc') ?? ''}`;
    out(`  ${p.what.padEnd(8)} to ${p.to.padEnd(5)} -> HTTP ${answer.status}, PAP ${summary}`);
    if (code === '3010') hintLine = `    X-Push-Bearer-Hint: ${hint}; response-result desc="${attr(answer.text, 'desc')}"`;
  }
  if (hintLine) {
    out('  bob is not SIP-reachable (presence closed): the agent sent no SIP request and answered at once with');
    out(hintLine);
  }

  // Outcomes: alice's two deliveries, carol's hand-back (her UA answered 480) and the notifications.
  const notified = async (id: string) => ppg.waitFor((post) => post.path === '/notify' && post.body.includes(`push-id="${id}"`), 30_000);
  const notes = [await notified('demo-alice-text'), await notified('demo-alice-si'), await notified('demo-carol')];
  const handBack = await ppg.waitFor((post) => post.path === '/handback' && post.body.includes('demo-carol'), 30_000);

  out('');
  out('The first MESSAGE as alice received it (from her SIPp trace):');
  const messages = alice.messages().filter((m) => m.method === 'MESSAGE');
  const text = messages.find((m) => m.body.includes('Hello alice'));
  if (text) out(indent(text.text));
  const si = messages.find((m) => /application\/vnd\.wap\.sic/i.test(m.text));
  if (si) {
    const length = /^Content-Length:\s*(\d+)/im.exec(si.text)?.[1];
    out(`  and a second MESSAGE, Content-Type: application/vnd.wap.sic, Content-Length: ${length} (the ${WBXML_SI.length}-byte WBXML SI)`);
  }

  out('');
  out('The hand-back the PPG got for carol (her UA answered 480 after the push was accepted):');
  out(handBackStory(handBack, Buffer.from('Hello carol')));

  out('');
  out('Result notifications the PPG got (ppg-notify-requested-to):');
  for (const note of notes) {
    const xml = note.body.toString('utf8');
    out(
      `  ${attr(xml, 'push-id')?.padEnd(16)} message-state="${attr(xml, 'message-state')}" code="${attr(xml, 'code')}" desc="${attr(xml, 'desc')}"`,
    );
  }

  out('');
  out('Capability table (GET /admin/users/<aor>):');
  for (const user of ['alice', 'bob', 'carol']) {
    const aor = `sip:${user}@${domain}`;
    const res = await fetch(`${agent.baseUrl}/admin/users/${encodeURIComponent(aor)}`, { headers: { authorization: `Bearer ${token}` } });
    const entry = (await res.json()) as { state?: string; reason?: string; bearerHint?: string; sources?: unknown };
    out(
      `  ${aor.padEnd(22)} ${String(entry.state).padEnd(11)} reason: ${entry.reason}${entry.bearerHint ? `, hint ${entry.bearerHint}` : ''}`,
    );
  }
  out('');
}

function handBackStory(post: RecordedPost, expected: Buffer): string {
  const lines = [`  POST ${post.path}  User-Agent: ${post.headers['user-agent']} (the hint is in quality-of-service, not in a header)`];
  const { parts } = parseMultipartRelated(String(post.headers['content-type']), post.body);
  const control = parts[0]?.body.toString('utf8') ?? '';
  const element = /<push-message[\s\S]*<\/push-message>/.exec(control)?.[0] ?? control;
  const xmlLines = element.split(/>\s*</).join('>\n<').split('\n');
  lines.push(xmlLines.map((l, i) => (i === 0 || i === xmlLines.length - 1 ? '    ' : '      ') + l.trim()).join('\n'));
  const content = parts[1]?.body;
  if (content) lines.push(`    + the original content, ${content.length} bytes${content.equals(expected) ? ', byte-exact' : ', CHANGED'}`);
  return lines.join('\n');
}

await main();

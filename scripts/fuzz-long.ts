/**
 * The long fuzz run: the same properties as the suite's fast-check tests, for minutes
 * instead of seconds, plus a live agent fed over HTTP and UDP.
 *
 *   npx tsx scripts/fuzz-long.ts [--seconds 60] [--seed 42] [--only pap,multipart,pidf,sip,framer,intake,http,udp]
 *
 * Each target runs for `--seconds` (default 60). In-process targets assert "nothing but AgentError /
 * never throws"; `intake` runs the PAP endpoint over the push core (in-memory SQLite, fake engine); `http` posts to a
 * real agent's /pap and asserts no 5xx but PAP's 503 and a PAP or JSON body; `udp` sends datagrams to the
 * agent's SIP port and checks it still answers OPTIONS. A failure prints fast-check's seed and path
 * (replay with `--seed`) and the script exits 1. Loopback only; the agent is stopped at the end.
 */
import dgram from 'node:dgram';
import { join } from 'node:path';
import fc from 'fast-check';
import { startAgent } from '../src/agent.js';
import { validateConfig } from '../src/config/load-config.js';
import { AgentError } from '../src/errors.js';
import { silentLogger } from '../src/lib/logger.js';
import { parsePresence } from '../src/presence/pidf-parser.js';
import { loadProfile } from '../src/profiles/load-profile.js';
import { parseMultipartRelated } from '../src/push/pap/multipart.js';
import { parsePapRequest } from '../src/push/pap/pap-parser.js';
import { PapEndpoint } from '../src/intake/pap/pap-endpoint.js';
import { PushCore } from '../src/push/push-core.js';
import { sqlitePushStorePort } from '../src/push/store/sqlite/sqlite-push-store-port.js';
import { PushStore } from '../src/push/store/sqlite/sqlite-push-store.js';
import { decodeMessage } from '../src/sip/embedded/message-codec.js';
import { StreamFramer } from '../src/sip/embedded/stream-framer.js';
import type { SipEngine } from '../src/sip/port.js';
import { labProfile } from '../test/support/agent-under-test.js';
import { intakeRequest, papSoup, randomBytes, validPush } from '../test/support/pap-arbitraries.js';
import { freePort } from '../test/support/ports.js';
import { makeTempDir } from '../test/support/repo-paths.js';

const arg = (name: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const seconds = Number(arg('seconds') ?? 60);
const seed = arg('seed') !== undefined ? Number(arg('seed')) : undefined;
const only = arg('only')?.split(',');

const agentErrorsOnly = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof AgentError)) throw err;
  }
};

const pidfSoup = fc
  .array(
    fc.constantFrom(
      '<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@b">',
      '</presence>',
      '<tuple id="t">',
      '</tuple>',
      '<status><basic>open</basic></status>',
      '<basic>closed</basic>',
      '<!DOCTYPE x [<!ENTITY a "b">]>',
      '&a;',
      '&#0;',
      '<op:service-description xmlns:op="urn:oma:xml:prs:pidf:oma-pres"><op:service-id>x</op:service-id></op:service-description>',
      '<![CDATA[<]]>',
      '<x:y>',
      '</x:y>',
      '<__proto__/>',
      '"',
      '<',
      '>',
    ),
    { maxLength: 80 },
  )
  .map((p) => Buffer.from(p.join('')));

type Target = {
  name: string;
  property: () => Promise<fc.IAsyncProperty<[unknown]> | fc.IProperty<[unknown]>>;
  teardown?: () => Promise<void>;
};

function fakeEngine(): SipEngine {
  return {
    name: 'embedded',
    connected: true,
    start: async () => undefined,
    stop: async () => undefined,
    localAddresses: () => [],
    request: async () => ({ status: 200, reason: 'OK', headers: {}, body: Buffer.alloc(0) }),
    subscribe: async () => {
      throw new Error('not used');
    },
    onIncomingRequest: () => undefined,
    stats: () => ({ requestsSent: {}, responsesReceived: {}, requestsReceived: {}, retransmissions: 0, transactionTimeouts: 0 }),
  } as unknown as SipEngine;
}

let liveAgent: Awaited<ReturnType<typeof startAgent>> | undefined;
async function agent() {
  if (liveAgent) return liveAgent;
  const core = { host: '127.0.0.1', port: await freePort('127.0.0.1') };
  const sipPort = await freePort('127.0.0.2');
  const config = validateConfig({
    policy: 'always-sip',
    sip: {
      listen: [{ host: '127.0.0.2', port: sipPort, transport: 'udp' }],
      timers: { t1Ms: 20, t2Ms: 100, t4Ms: 100 },
      trustedPeers: ['127.0.0.0/8'],
    },
    http: { host: '127.0.0.1', port: 0, bodyLimitBytes: 16384, requestTimeoutMs: 2000 },
    ppg: { handBackUrl: `http://127.0.0.1:${await freePort('127.0.0.1')}/hb`, backoff: { baseMs: 1000, maxMs: 5000 } },
    store: { path: join(makeTempDir('fuzz-long'), 'pushes.sqlite') },
    limits: { maxInFlight: 200, maxQueued: 1_000_000 },
    log: { level: 'silent', pretty: false },
  });
  liveAgent = await startAgent(config, silentLogger(), { profile: labProfile(core) });
  return liveAgent;
}

const targets: Target[] = [
  {
    name: 'pap',
    property: async () =>
      fc.property(fc.oneof(randomBytes(4000), papSoup), (b) => agentErrorsOnly(() => parsePapRequest('application/xml', b))),
  },
  {
    name: 'multipart',
    property: async () =>
      fc.property(intakeRequest, ({ contentType, body }) =>
        agentErrorsOnly(() => parseMultipartRelated(contentType || 'multipart/related; boundary=m', body)),
      ),
  },
  {
    name: 'pidf',
    property: async () =>
      fc.property(fc.oneof(randomBytes(4000), pidfSoup), (b) => agentErrorsOnly(() => parsePresence(b, 'application/pidf+xml'))),
  },
  { name: 'sip', property: async () => fc.property(randomBytes(3000), (b) => void decodeMessage(b)) },
  {
    name: 'framer',
    property: async () =>
      fc.property(fc.array(randomBytes(2000), { maxLength: 20 }), (chunks) => {
        const framer = new StreamFramer({ maxHeaderBytes: 4096, maxBodyBytes: 4096 });
        for (const c of chunks) framer.push(c);
      }),
  },
  {
    name: 'intake',
    property: async () => {
      const store = PushStore.open(':memory:');
      const core = new PushCore({
        store: sqlitePushStorePort(store),
        engine: fakeEngine(),
        oracle: {
          decide: async () => ({ reachability: 'reachable', acceptedApps: 'any', bearerHint: 'SMS', reason: 'fuzz' }),
          recordDelivery: () => undefined,
        },
        profile: loadProfile('kamailio-lab'),
        logger: silentLogger(),
        handBackUrl: 'http://127.0.0.1:1/hb',
        policy: 'presence-aware',
        maxInFlight: 100,
        maxQueued: 1_000_000,
      });
      const pushes = new PapEndpoint(core);
      return fc.asyncProperty(intakeRequest, async ({ contentType, body }) => {
        const reply = await pushes.handlePap(contentType, body);
        if (!/code="\d{4}"/.test(reply.body)) throw new Error(`no PAP code in ${reply.body.slice(0, 200)}`);
      });
    },
  },
  {
    name: 'http',
    property: async () => {
      const a = await agent();
      const url = `http://127.0.0.1:${a.http.port}/pap`;
      return fc.asyncProperty(intakeRequest, async ({ contentType, body }) => {
        const res = await fetch(url, { method: 'POST', headers: contentType ? { 'content-type': contentType } : {}, body });
        const text = await res.text();
        if (res.status >= 500 && res.status !== 503) throw new Error(`HTTP ${res.status}: ${text.slice(0, 200)}`);
        if (!/code="\d{4}"|"error"/.test(text)) throw new Error(`neither PAP nor JSON error: ${text.slice(0, 200)}`);
      });
    },
  },
  {
    name: 'udp',
    property: async () => {
      const a = await agent();
      const sip = a.engine.localAddresses().find((x) => x.transport === 'udp')!;
      const socket = dgram.createSocket('udp4');
      await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
      targets.find((t) => t.name === 'udp')!.teardown = async () => socket.close();
      return fc.asyncProperty(fc.oneof(randomBytes(1400), papSoup), async (b) => {
        await new Promise<void>((r) => socket.send(b.length ? b : Buffer.from(' '), sip.port, sip.host, () => r()));
        // Same process as the agent: yield so it reads the datagram instead of the kernel dropping it.
        await new Promise((r) => setImmediate(r));
      });
    },
  },
];

/** OPTIONS → 200 from the agent's UDP port; three tries (UDP is lossy, a flood may still be draining). */
async function stillServesUdp(): Promise<boolean> {
  for (let attempt = 0; attempt < 3; attempt += 1) {
    await new Promise((r) => setTimeout(r, 500));
    if (await optionsAnswered(attempt)) return true;
  }
  return false;
}

async function optionsAnswered(attempt: number): Promise<boolean> {
  if (!liveAgent) return true;
  const sip = liveAgent.engine.localAddresses().find((x) => x.transport === 'udp')!;
  const socket = dgram.createSocket('udp4');
  try {
    await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
    const answered = new Promise<boolean>((resolve) => {
      socket.once('message', (m) => resolve(m.toString('latin1').startsWith('SIP/2.0 200')));
      setTimeout(() => resolve(false), 2000).unref();
    });
    const options = `OPTIONS sip:agent@${sip.host} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bK-alive${attempt};rport\r\nMax-Forwards: 70\r\nFrom: <sip:f@x>;tag=1\r\nTo: <sip:agent@x>\r\nCall-ID: alive\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`;
    socket.send(Buffer.from(options), sip.port, sip.host);
    return await answered;
  } finally {
    socket.close();
  }
}

let failed = false;
try {
  for (const target of targets.filter((t) => !only || only.includes(t.name))) {
    const property = await target.property();
    const started = Date.now();
    const result = await fc.check(property as fc.IAsyncProperty<[unknown]>, {
      numRuns: Number.MAX_SAFE_INTEGER,
      interruptAfterTimeLimit: seconds * 1000,
      markInterruptAsFailure: false,
      seed,
    });
    const rate = Math.round(result.numRuns / ((Date.now() - started) / 1000));
    if (result.failed) {
      failed = true;
      console.log(`FAIL ${target.name}: after ${result.numRuns} runs, seed ${result.seed} path ${result.counterexamplePath}`);
      console.log(fc.defaultReportMessage(result));
    } else {
      console.log(`ok   ${target.name}: ${result.numRuns} cases in ${seconds} s (${rate}/s)`);
    }
    await target.teardown?.();
  }
  if (liveAgent) {
    const alive = await stillServesUdp();
    const health = await fetch(`http://127.0.0.1:${liveAgent.http.port}/healthz`).then(
      (r) => r.status,
      () => 0,
    );
    console.log(
      `agent after the run: SIP OPTIONS ${alive ? '200' : 'no answer'}, /healthz ${health}, engine ${JSON.stringify(liveAgent.engine.stats())}`,
    );
    if (!alive || health !== 200) failed = true;
    // A valid push is still accepted.
    const push = validPush(`after-${Date.now()}`);
    const res = await fetch(`http://127.0.0.1:${liveAgent.http.port}/pap`, {
      method: 'POST',
      headers: { 'content-type': push.contentType },
      body: push.body,
    });
    if (!(await res.text()).includes('code="1001"')) failed = true;
  }
} finally {
  await liveAgent?.stop({ drainMs: 1000 });
}
process.exit(failed ? 1 : 0);

/**
 * Starts the real agent (embedded engine, real SQLite store, real HTTP intake) against a running SIP
 * core, plus a PPG stand-in: an HTTP server inside the test that records hand-backs and result
 * notifications. Loopback only; everything is stopped by `stop()`.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { join } from 'node:path';
import { startAgent, type RunningAgent } from '../../src/agent.js';
import { validateConfig } from '../../src/config/load-config.js';
import type { AgentConfigInput } from '../../src/config/config-schema.js';
import { silentLogger } from '../../src/lib/logger.js';
import { loadProfile } from '../../src/profiles/load-profile.js';
import type { SipProfile } from '../../src/profiles/schema.js';
import { buildMultipartRelated } from '../../src/push/pap/multipart.js';
import { acceptingAnswer } from './pap-ppg.js';
import { eventually } from './poll.js';
import { freePort } from './ports.js';
import { makeTempDir } from './repo-paths.js';

export interface RecordedPost {
  path: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
  /** `performance.now()` when the body was complete. */
  atMs: number;
}

/**
 * An HTTP server standing in for the PPG (and a PI's notify URL) that takes everything: push-response
 * 1001 / resultnotification-response 1000; `failFirst` answers 503 that many times first. Each accepted
 * POST goes to `onPost` and, unless `retainPosts` is false (long benchmark runs), into `posts`.
 */
export class PpgStandIn {
  readonly posts: RecordedPost[] = [];
  private server?: Server;
  failFirst = 0;
  port = 0;
  retainPosts = true;
  onPost?: (post: RecordedPost) => void;

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        if (this.failFirst > 0) {
          this.failFirst -= 1;
          res.writeHead(503).end();
          return;
        }
        const post = { path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks), atMs: performance.now() };
        if (this.retainPosts) this.posts.push(post);
        this.onPost?.(post);
        // A PAP answer: the agent counts a POST as done only on a PAP 1xxx (push-response 1001 here).
        res.writeHead(202, { 'content-type': 'application/xml' }).end(acceptingAnswer(post.body));
      });
    });
    this.server.keepAliveTimeout = 30_000; // the agent's outbox reuses its connections
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    this.port = typeof address === 'object' && address ? address.port : 0;
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  async waitFor(predicate: (post: RecordedPost) => boolean, timeoutMs = 10_000): Promise<RecordedPost> {
    const found = await eventually(
      () => this.posts.find(predicate),
      (post) => post !== undefined,
      timeoutMs,
      25,
    );
    if (found) return found;
    throw new Error(`PPG stand-in: no matching POST within ${timeoutMs} ms (${this.posts.length} seen)`);
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

export interface AgentUnderTest {
  agent: RunningAgent;
  ppg: PpgStandIn;
  papUrl: string;
  profile: SipProfile;
  stop(): Promise<void>;
}

/**
 * The kamailio-lab profile pointed at `core`. Sources default to presence only — the suites written for
 * presence count SUBSCRIBEs and expect presence-only decisions; reg tests pass `sources`.
 */
export function labProfile(
  core: { host: string; port: number },
  changes: Partial<SipProfile['presence']> = {},
  sources: SipProfile['sources'] = ['presence'],
): SipProfile {
  const base = loadProfile('kamailio-lab');
  return {
    ...base,
    sources,
    outboundProxy: { host: core.host, port: core.port, transport: 'udp' },
    identity: { ...base.identity, uri: `sip:push-agent@${core.host}` },
    addressing: { ...base.addressing, homeDomain: core.host },
    presence: { ...base.presence, ...changes },
  };
}

export async function startAgentUnderTest(
  core: { host: string; port: number },
  options: { config?: AgentConfigInput; profile?: SipProfile; storePath?: string } = {},
): Promise<AgentUnderTest> {
  const ppg = new PpgStandIn();
  await ppg.start();
  const sipPort = await freePort('127.0.0.2');
  const config = validateConfig({
    http: { host: '127.0.0.1', port: 0 },
    // numberBearers []: hand-backs keep the PI's address whatever the hint, as this stand-in routes any
    // address. Tests of SMS routing (TYPE=PLMN, "no MSISDN") set ppg.numberBearers themselves.
    ppg: { handBackUrl: ppg.url('/handback'), backoff: { baseMs: 50, maxMs: 500 }, numberBearers: [] },
    store: { path: options.storePath ?? join(makeTempDir('spa-store-'), 'pushes.sqlite') },
    log: { level: 'silent', pretty: false },
    ...options.config,
    sip: {
      listen: [
        { host: '127.0.0.2', port: sipPort, transport: 'udp' },
        { host: '127.0.0.2', port: sipPort, transport: 'tcp' },
      ],
      timers: { t1Ms: 100, t2Ms: 400, t4Ms: 500 },
      ...options.config?.sip,
    },
  });
  const profile = options.profile ?? labProfile(core);
  const agent = await startAgent(config, silentLogger(), { profile });
  return {
    agent,
    ppg,
    profile,
    papUrl: `http://127.0.0.1:${agent.http.port}${config.http.papPath}`,
    async stop() {
      await agent.stop({ drainMs: 2000 });
      await ppg.stop();
    },
  };
}

export interface PapPushInput {
  pushId: string;
  address: string;
  content: Buffer;
  contentType?: string;
  appId?: string;
  notifyTo?: string;
  deliverBefore?: string;
  deliverAfter?: string;
  bearer?: string;
  bearerRequired?: boolean;
  progressNotes?: boolean;
}

/** A PAP 2.0 push-message as a PI sends it (DOCTYPE, multipart/related). */
export function papPush(input: PapPushInput): { contentType: string; body: Buffer } {
  const attrs = [
    `push-id="${input.pushId}"`,
    input.notifyTo ? `ppg-notify-requested-to="${input.notifyTo}"` : '',
    input.deliverBefore ? `deliver-before-timestamp="${input.deliverBefore}"` : '',
    input.deliverAfter ? `deliver-after-timestamp="${input.deliverAfter}"` : '',
    input.progressNotes ? 'progress-notes-requested="true"' : '',
  ].join(' ');
  const qos = input.bearer
    ? `<quality-of-service bearer="${input.bearer}" bearer-required="${input.bearerRequired ? 'true' : 'false'}"/>`
    : '';
  const control =
    '<?xml version="1.0"?>\n<!DOCTYPE pap PUBLIC "-//WAPFORUM//DTD PAP 2.0//EN" "http://www.wapforum.org/DTD/pap_2.0.dtd">\n' +
    `<pap><push-message ${attrs}><address address-value="${input.address}"/>${qos}</push-message></pap>`;
  return buildMultipartRelated([
    { headers: { 'Content-Type': 'application/xml' }, body: Buffer.from(control) },
    {
      headers: {
        'Content-Type': input.contentType ?? 'application/vnd.wap.sic',
        'X-Wap-Application-Id': input.appId ?? 'x-wap-application:wml.ua',
      },
      body: input.content,
    },
  ]);
}

/** A PAP control-only request (cancel-message, statusquery-message). */
export function papControl(element: 'cancel-message' | 'statusquery-message', pushId: string): { contentType: string; body: Buffer } {
  return {
    contentType: 'application/xml',
    body: Buffer.from(`<?xml version="1.0"?>\n<pap><${element} push-id="${pushId}"/></pap>`),
  };
}

export async function postPap(
  url: string,
  request: { contentType: string; body: Buffer },
): Promise<{ status: number; headers: Headers; text: string }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': request.contentType }, body: request.body });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

/** `WAPPUSH=sip%3Auser%40host/TYPE=USER` for a SIP AOR. */
export function userAddress(aor: string): string {
  return `WAPPUSH=${encodeURIComponent(aor)}/TYPE=USER`;
}

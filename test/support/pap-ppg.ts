/**
 * A PAP 1.0-era PPG stand-in (the kind that delivers by SMS through an SMSC), strict the way such PPGs
 * are, and a PI's notify endpoint. Every answer is HTTP 202 with a PAP body — refusals included — so
 * only an agent that reads the PAP code can tell an acknowledgement from a refusal.
 *
 * It refuses (PAP 2000, as a `badmessage-response` or `push-response`):
 * - a DOCTYPE of another PAP version than the one it speaks (default 1.0),
 * - attributes PAP 1.0 does not have (`replace-push-id`, `replace-method`),
 * - `network-required` and `bearer-required` that disagree,
 * - a `*-required="true"` without a `network` and `bearer` value (the field PPG crashed on that),
 * - `TYPE=USER` (or any non-PLMN address) with bearer SMS: an SMSC routes by number only.
 * Otherwise it answers `scriptedCodes.shift() ?? 1001`. A POST whose body is a resultnotification-message
 * gets `resultnotification-response` `notifyCode` (default 1000) — unless `hangNotify` holds it forever.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parsePapRequest } from '../../src/push/pap/pap-parser.js';
import type { PushSubmission } from '../../src/push/pap/pap-types.js';

export interface PapPost {
  path: string;
  /** Header names exactly as sent, in order. */
  rawHeaderNames: string[];
  headers: IncomingMessage['headers'];
  body: Buffer;
  /** The control entity (hand-backs) or the whole body (notifications), as text. */
  control: string;
  kind: 'push-message' | 'resultnotification-message' | 'other';
  pushId: string | undefined;
  /** What the stand-in answered (PAP code), or undefined while held. */
  answeredCode?: number;
  /** Why it refused, when it did. */
  refusal?: string;
  push?: PushSubmission;
  atMs: number;
}

const PAP10_DOCTYPE = '<!DOCTYPE pap PUBLIC "-//WAPFORUM//DTD PAP 1.0//EN" "http://www.wapforum.org/DTD/pap_1.0.dtd">';

function escapeAttr(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
}

/** `<push-response>` for `pushId` with `code`. */
export function pushResponseXml(pushId: string, code: number, desc: string): string {
  return (
    `<?xml version="1.0"?>\n${PAP10_DOCTYPE}\n<pap><push-response push-id="${escapeAttr(pushId)}" reply-time="2026-01-01T00:00:00Z">` +
    `<response-result code="${code}" desc="${escapeAttr(desc)}"/></push-response></pap>\n`
  );
}

export function resultNotificationResponseXml(pushId: string, code: number): string {
  return `<?xml version="1.0"?>\n${PAP10_DOCTYPE}\n<pap><resultnotification-response push-id="${escapeAttr(pushId)}" code="${code}" desc="${code === 1000 ? 'OK' : 'Bad request'}"/></pap>\n`;
}

export function badMessageXml(code: number, desc: string): string {
  return `<?xml version="1.0"?>\n${PAP10_DOCTYPE}\n<pap><badmessage-response code="${code}" desc="${escapeAttr(desc)}" bad-message-fragment=""/></pap>\n`;
}

/** The PAP answer a well-behaved PPG/PI gives a body: push-response 1001 or resultnotification-response 1000. */
export function acceptingAnswer(body: Buffer): string {
  const text = body.toString('latin1');
  const pushId = /push-id="([^"]*)"/.exec(text)?.[1] ?? '';
  if (text.includes('<resultnotification-message')) return resultNotificationResponseXml(pushId, 1000);
  return pushResponseXml(
    pushId
      .replace(/&quot;/g, '"')
      .replace(/&lt;/g, '<')
      .replace(/&amp;/g, '&'),
    1001,
    'Accepted for processing',
  );
}

function controlText(text: string): string {
  const start = text.indexOf('<?xml');
  const end = text.indexOf('</pap>');
  return start >= 0 && end > start ? text.slice(start, end + 6) : text;
}

/** Why a PAP 1.0-era SMS PPG refuses this push-message, or undefined when it takes it. */
function refusalOf(control: string, push: PushSubmission | undefined, speaks: string): string | undefined {
  const version = /DTD PAP (\d\.\d)/.exec(control)?.[1];
  if (version !== speaks) return `PAP ${version ?? '(no DOCTYPE)'} not spoken here`;
  if (/\breplace-(push-id|method)=/.test(control)) return 'unknown attribute (PAP 2.x only)';
  if (!push) return 'unparsable push-message';
  const qos = /<quality-of-service\b[^>]*>/.exec(control)?.[0] ?? '';
  const flag = (name: string) => /true/i.test(new RegExp(`${name}="([^"]*)"`).exec(qos)?.[1] ?? 'false');
  if (flag('network-required') !== flag('bearer-required')) return 'network-required and bearer-required must have same value';
  if (flag('bearer-required') && (push.qos.network === undefined || push.qos.bearer === undefined))
    return 'required network/bearer without a value';
  const sms = (push.qos.bearer ?? '').toLowerCase() === 'sms';
  if (sms && push.addresses.some((a) => !/\/TYPE=PLMN(@|$)/i.test(a))) return 'unimplemented feature: SMS needs a PLMN address';
  return undefined;
}

export class Pap10Ppg {
  readonly posts: PapPost[] = [];
  /** Codes for accepted push-messages, in order; then 1001. */
  scriptedCodes: number[] = [];
  /** HTTP statuses to answer before any PAP (e.g. 503), in order. */
  scriptedHttp: number[] = [];
  notifyCode = 1000;
  hangNotify = false;
  speaks = '1.0';
  port = 0;
  private server?: Server;

  /** Listens on 127.0.0.1:`port` (0: a free one; a stopped stand-in can come back on its old `this.port`). */
  async start(port = 0): Promise<void> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const text = body.toString('latin1');
        const kind = text.includes('<push-message')
          ? 'push-message'
          : text.includes('<resultnotification-message')
            ? 'resultnotification-message'
            : 'other';
        const post: PapPost = {
          path: req.url ?? '',
          rawHeaderNames: req.rawHeaders.filter((_, i) => i % 2 === 0),
          headers: req.headers,
          body,
          control: controlText(text),
          kind,
          pushId: /push-id="([^"]*)"/.exec(text)?.[1],
          atMs: performance.now(),
        };
        this.posts.push(post);
        const http = this.scriptedHttp.shift();
        if (http !== undefined) {
          res.writeHead(http).end();
          return;
        }
        const answer = (code: number, xml: string) => {
          post.answeredCode = code;
          res.writeHead(202, { 'content-type': 'application/xml' }).end(xml);
        };
        if (kind === 'resultnotification-message') {
          if (this.hangNotify) return;
          answer(this.notifyCode, resultNotificationResponseXml(post.pushId ?? '', this.notifyCode));
          return;
        }
        if (kind !== 'push-message') {
          answer(2000, badMessageXml(2000, 'not a PAP request'));
          return;
        }
        try {
          const request = parsePapRequest(req.headers['content-type'] ?? '', body);
          if (request.kind === 'push') post.push = request.push;
        } catch {
          /* refused below */
        }
        post.refusal = refusalOf(post.control, post.push, this.speaks);
        if (post.refusal !== undefined) {
          // What the field PPG did: a badmessage-response for syntax, a push-response 2000 for semantics.
          if (/attribute|PAP \d|unparsable/.test(post.refusal)) answer(2000, badMessageXml(2000, post.refusal));
          else answer(2000, pushResponseXml(post.pushId ?? '', 2000, post.refusal));
          return;
        }
        const code = this.scriptedCodes.shift() ?? 1001;
        answer(code, pushResponseXml(post.pushId ?? '', code, code === 1001 ? 'Accepted for processing' : 'Refused'));
      });
    });
    server.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  handBacks(pushId?: string): PapPost[] {
    return this.posts.filter((p) => p.kind === 'push-message' && (pushId === undefined || p.pushId === pushId));
  }

  notifications(pushId?: string): PapPost[] {
    return this.posts.filter((p) => p.kind === 'resultnotification-message' && (pushId === undefined || p.pushId === pushId));
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

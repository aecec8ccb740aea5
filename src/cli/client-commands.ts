/**
 * `push`, `status` and `cancel`: a PI's side of PAP against a running agent (PAP 2.0 §9.2 push-message,
 * §9.6 statusquery-message, §9.4 cancel-message). Prints a one-line summary, or the raw answer with
 * --xml / --json, and exits with the PAP code class ({@link EXIT}).
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { ErrorCodes, httpStatusOf } from '../errors.js';
import { buildMultipartRelated } from '../push/pap/multipart.js';
import { EXIT, exitStatusFor, summarize, type PapAnswer } from './pap-answer.js';
import { postPap, resolveTarget, type Credentials } from './pap-client.js';

interface ConnectionOptions {
  url: string;
  user?: string;
  password?: string;
  token?: string;
  timeout: string;
  xml?: boolean;
  json?: boolean;
}

const DOCTYPE = '<!DOCTYPE pap PUBLIC "-//WAPFORUM//DTD PAP 2.0//EN" "http://www.wapforum.org/DTD/pap_2.0.dtd">';
const esc = (v: string) => v.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

/** `WAPPUSH=…/TYPE=USER|PLMN` (PAP address, PPG Service §7) from a SIP URI, a number or the full form. */
export function papAddress(to: string): string {
  if (to.startsWith('WAPPUSH=')) return to;
  return /^\+?\d+$/.test(to) ? `WAPPUSH=${to}/TYPE=PLMN` : `WAPPUSH=${encodeURIComponent(to)}/TYPE=USER`;
}

function withConnection(cmd: Command): Command {
  return cmd
    .option('--url <url>', 'the agent PAP URL (a user:password@ in it is sent as Basic auth, never printed)', 'http://127.0.0.1:8180/pap')
    .option('--user <name>', 'PI name for HTTP Basic (intake.auth.users)')
    .option('--password <password>', 'password for HTTP Basic (or env SPA_PAP_PASSWORD)')
    .option('--token <token>', 'bearer token (or env SPA_PAP_TOKEN)')
    .option('--timeout <ms>', 'give up after this long without an answer', '30000')
    .option('--xml', 'print the raw PAP answer instead of a summary')
    .option('--json', 'print the answer as JSON instead of a summary');
}

function credentials(o: ConnectionOptions): Credentials {
  return {
    user: o.user,
    password: o.password ?? (o.user !== undefined ? process.env.SPA_PAP_PASSWORD : undefined),
    token: o.token ?? (o.user === undefined ? process.env.SPA_PAP_TOKEN || undefined : undefined),
  };
}

async function send(o: ConnectionOptions, request: { contentType: string; body: Buffer }): Promise<never> {
  let target: ReturnType<typeof resolveTarget>;
  try {
    target = resolveTarget(o.url, credentials(o));
  } catch (err) {
    console.error(`error: ${(err as Error).message}`);
    process.exit(EXIT.usage);
  }
  let answer: PapAnswer & { raw: string };
  try {
    answer = await postPap(target, request, Number(o.timeout) || 30_000);
  } catch (err) {
    console.error(`error: ${(err as Error).message}`);
    process.exit(EXIT.noPapAnswer);
  }
  const { raw, ...fields } = answer;
  if (o.xml) process.stdout.write(raw.endsWith('\n') ? raw : `${raw}\n`);
  else if (o.json) console.log(JSON.stringify(fields));
  else if (fields.code === undefined) {
    const unauthorized = fields.httpStatus === httpStatusOf(ErrorCodes.INTAKE_UNAUTHORIZED);
    const auth = unauthorized ? ' (the intake wants credentials: --user/--password or --token)' : '';
    console.log(`${summarize(fields)}${auth}${raw ? `: ${raw.slice(0, 300).trim()}` : ''}`);
  } else console.log(summarize(fields));
  process.exit(exitStatusFor(fields));
}

function control(element: 'statusquery-message' | 'cancel-message', pushId: string, to?: string): { contentType: string; body: Buffer } {
  const address = to ? `<address address-value="${esc(papAddress(to))}"/>` : '';
  const xml = `<?xml version="1.0"?>\n${DOCTYPE}\n<pap><${element} push-id="${esc(pushId)}">${address}</${element}></pap>`;
  return { contentType: 'application/xml', body: Buffer.from(xml, 'utf8') };
}

export function addClientCommands(program: Command): void {
  withConnection(program.command('push').description('send a PAP push-message to a running agent'))
    .requiredOption('--to <address>', 'PAP address-value, or a SIP URI / number (wrapped as WAPPUSH=…/TYPE=USER|PLMN)')
    .option('--push-id <id>', 'push-id (default: generated)')
    .option('--content-type <type>', 'content type of the push content', 'text/plain')
    .option('--app-id <id>', 'X-Wap-Application-Id', 'x-wap-application:wml.ua')
    .option('--text <text>', 'content as text')
    .option('--file <file>', 'content from a file (bytes as they are)')
    .option('--notify-to <url>', 'ppg-notify-requested-to')
    .action(
      async (
        o: ConnectionOptions & {
          to: string;
          pushId?: string;
          contentType: string;
          appId: string;
          text?: string;
          file?: string;
          notifyTo?: string;
        },
      ) => {
        const pushId = o.pushId ?? `cli-${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
        let content: Buffer;
        try {
          content = o.file ? readFileSync(o.file) : Buffer.from(o.text ?? 'hello from sip-push-agent', 'utf8');
        } catch (err) {
          console.error(`error: --file: ${(err as Error).message}`);
          process.exit(EXIT.usage);
        }
        const xml =
          `<?xml version="1.0"?>\n${DOCTYPE}\n` +
          `<pap><push-message push-id="${esc(pushId)}"${o.notifyTo ? ` ppg-notify-requested-to="${esc(o.notifyTo)}"` : ''}>` +
          `<address address-value="${esc(papAddress(o.to))}"/><quality-of-service bearer="SIP"/></push-message></pap>`;
        await send(
          o,
          buildMultipartRelated([
            { headers: { 'Content-Type': 'application/xml' }, body: Buffer.from(xml, 'utf8') },
            { headers: { 'Content-Type': o.contentType, 'X-Wap-Application-Id': o.appId }, body: content },
          ]),
        );
      },
    );

  withConnection(program.command('status').description("ask for a push's state (statusquery-message)"))
    .argument('<push-id>', 'the push-id')
    .option('--to <address>', 'only this address of the push')
    .action(async (pushId: string, o: ConnectionOptions & { to?: string }) => send(o, control('statusquery-message', pushId, o.to)));

  withConnection(program.command('cancel').description('cancel a push not yet delivered (cancel-message)'))
    .argument('<push-id>', 'the push-id')
    .option('--to <address>', 'only this address of the push')
    .action(async (pushId: string, o: ConnectionOptions & { to?: string }) => send(o, control('cancel-message', pushId, o.to)));
}

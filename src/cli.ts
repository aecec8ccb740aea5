/**
 * The command line: `start`, `check-config`, `push`. Expected failures (bad config, bad profile, an
 * unreachable agent) print ONE line naming the field or the cause and exit 1.
 */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { startAgent } from './agent.js';
import { loadConfig } from './config/load-config.js';
import { AgentError } from './errors.js';
import { createLogger } from './ops/logger.js';
import { loadProfile } from './profiles/load-profile.js';
import { buildMultipartRelated } from './push/pap/multipart.js';

/** Prints one line for expected failures, a stack for programming errors, and exits 1. */
function fail(err: unknown): never {
  if (err instanceof AgentError) console.error(`error [${err.code}]: ${err.message}`);
  else console.error(err);
  process.exit(1);
}

const program = new Command()
  .name('sip-push-agent')
  .description('SIP Push Sender Agent: PAP in, presence-aware SIP MESSAGE out, hand-back with a bearer hint');

program
  .command('start')
  .description('run the agent')
  .option('-c, --config <file>', 'config file (YAML or JSON); SPA__section__key=value env vars override it')
  .action(async (opts: { config?: string }) => {
    let config;
    try {
      config = loadConfig(opts.config ?? process.env.SPA_CONFIG);
      loadProfile(config.profile, config.profileOverrides);
    } catch (err) {
      fail(err);
    }
    const pretty = config.log.pretty === 'auto' ? Boolean(process.stdout.isTTY) : config.log.pretty;
    const logger = createLogger({ level: config.log.level, pretty });
    let agent;
    try {
      agent = await startAgent(config, logger);
    } catch (err) {
      logger.fatal({ err }, 'start failed');
      fail(err);
    }
    let signals = 0;
    const onSignal = (signal: string) => {
      signals += 1;
      if (signals > 1) {
        logger.warn({ signal }, 'second signal: exiting at once');
        process.exit(130);
      }
      logger.info({ signal }, 'stopping: intake closed, draining');
      agent.stop().then(
        () => process.exit(0),
        (err: unknown) => {
          logger.error({ err }, 'stop failed');
          process.exit(1);
        },
      );
    };
    process.on('SIGTERM', () => onSignal('SIGTERM'));
    process.on('SIGINT', () => onSignal('SIGINT'));
  });

program
  .command('check-config')
  .description('validate a config file and its sip-profile without starting')
  .argument('[file]', 'config file')
  .action((file?: string) => {
    try {
      const config = loadConfig(file);
      const profile = loadProfile(config.profile, config.profileOverrides);
      console.log(`ok: config ${file ?? '(defaults)'} with profile ${profile.name}`);
    } catch (err) {
      fail(err);
    }
  });

program
  .command('push')
  .description('send a PAP push-message to a running agent')
  .option('--url <url>', 'the agent PAP URL', 'http://127.0.0.1:8180/pap')
  .requiredOption('--to <address>', 'PAP address-value, or a SIP URI / number (wrapped as WAPPUSH=…/TYPE=USER|PLMN)')
  .option('--push-id <id>', 'push-id (default: generated)')
  .option('--content-type <type>', 'content type of the push content', 'text/plain')
  .option('--app-id <id>', 'X-Wap-Application-Id', 'x-wap-application:wml.ua')
  .option('--text <text>', 'content as text')
  .option('--file <file>', 'content from a file (bytes as they are)')
  .option('--notify-to <url>', 'ppg-notify-requested-to')
  .action(async (opts: { url: string; to: string; pushId?: string; contentType: string; appId: string; text?: string; file?: string; notifyTo?: string }) => {
    const address = opts.to.startsWith('WAPPUSH=')
      ? opts.to
      : /^\+?\d+$/.test(opts.to)
        ? `WAPPUSH=${opts.to}/TYPE=PLMN`
        : `WAPPUSH=${encodeURIComponent(opts.to)}/TYPE=USER`;
    const pushId = opts.pushId ?? `cli-${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
    const content = opts.file ? readFileSync(opts.file) : Buffer.from(opts.text ?? 'hello from sip-push-agent', 'utf8');
    const esc = (v: string) => v.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
    const control =
      '<?xml version="1.0"?>\n<!DOCTYPE pap PUBLIC "-//WAPFORUM//DTD PAP 2.0//EN" "http://www.wapforum.org/DTD/pap_2.0.dtd">\n' +
      `<pap><push-message push-id="${esc(pushId)}"${opts.notifyTo ? ` ppg-notify-requested-to="${esc(opts.notifyTo)}"` : ''}>` +
      `<address address-value="${esc(address)}"/><quality-of-service bearer="SIP"/></push-message></pap>`;
    const multipart = buildMultipartRelated([
      { headers: { 'Content-Type': 'application/xml' }, body: Buffer.from(control, 'utf8') },
      { headers: { 'Content-Type': opts.contentType, 'X-Wap-Application-Id': opts.appId }, body: content },
    ]);
    try {
      const response = await fetch(opts.url, { method: 'POST', headers: { 'content-type': multipart.contentType }, body: multipart.body });
      const hint = response.headers.get('x-push-bearer-hint');
      console.log(`HTTP ${response.status}${hint ? ` (bearer hint: ${hint})` : ''}`);
      console.log(await response.text());
      process.exitCode = response.ok ? 0 : 1;
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      console.error(`error: cannot reach the agent at ${opts.url}: ${cause?.code ?? cause?.message ?? (err as Error).message}`);
      process.exit(1);
    }
  });

await program.parseAsync(process.argv);

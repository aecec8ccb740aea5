/**
 * The command line: `start`, `check-config`, and the PI-side `push`, `status`, `cancel`
 * (cli/client-commands.ts). Expected failures (bad config, bad profile) print ONE line naming the field
 * and exit 1; the client commands exit by PAP code class (cli/pap-answer.ts), 64 on a usage error.
 */
import { readFileSync } from 'node:fs';
import { Command, type CommanderError } from 'commander';
import type { RunningAgent } from './agent.js';
import type { AgentConfig } from './config/config-schema.js';
import { loadConfig } from './config/load-config.js';
import { AgentError } from './errors.js';
import { loadProfile } from './profiles/load-profile.js';
import { addClientCommands } from './cli/client-commands.js';
import { EXIT } from './cli/pap-answer.js';

/** Prints one line for expected failures, a stack for programming errors, and exits 1. */
function fail(err: unknown): never {
  if (err instanceof AgentError) console.error(`error [${err.code}]: ${err.message}`);
  else console.error(err);
  process.exit(1);
}

/** package.json sits one level above both src/ and dist/. */
const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

const program = new Command()
  .name('sip-push-agent')
  .description('SIP Push Sender Agent: PAP in, presence-aware SIP MESSAGE out, hand-back with a bearer hint')
  .version(version, '-V, --version')
  // Usage errors exit 64 (sysexits EX_USAGE), apart from 1 (no PAP answer) and the PAP classes 2..5.
  .exitOverride((err: CommanderError) => {
    const done = err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help';
    process.exit(done ? 0 : EXIT.usage);
  });

program
  .command('start')
  .description('run the agent')
  .option('-c, --config <file>', 'config file (YAML or JSON); SPA__section__key=value env vars override it')
  .action(async (opts: { config?: string }) => {
    let config: AgentConfig;
    try {
      config = loadConfig(opts.config ?? process.env.SPA_CONFIG);
      loadProfile(config.profile, config.profileOverrides);
    } catch (err) {
      fail(err);
    }
    const pretty = config.log.pretty === 'auto' ? Boolean(process.stdout.isTTY) : config.log.pretty;
    // Loaded here, not at the top: the client commands need none of the agent (fastify, SQLite, SIP).
    const [{ startAgent }, { createLogger }] = await Promise.all([import('./agent.js'), import('./lib/logger.js')]);
    const logger = createLogger({ level: config.log.level, pretty });
    let agent: RunningAgent;
    try {
      agent = await startAgent(config, logger);
    } catch (err) {
      // An expected failure (store locked, port in use, …) is one line on stderr, nothing more.
      if (!(err instanceof AgentError)) logger.fatal({ err }, 'start failed');
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

addClientCommands(program);

await program.parseAsync(process.argv);

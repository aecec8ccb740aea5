/**
 * Start the project's Kamailio (docker/kamailio/kamailio.cfg) as a real foreground process on loopback,
 * with every runtime file (ctl socket, run dir) in a private temp dir, and read its statistics over the
 * ctl socket with `kamcmd`. See test/support/README.md.
 */
import { spawnSync, execFile, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { untrackProcess, terminateGroup, groupAlive, processStartSeq } from './cleanup.js';
import { freePort } from './ports.js';
import { makeTempDir, repoPath } from './repo-paths.js';
import { optionsPing } from './wire.js';
import { launchServer, serverLog } from './server-process.js';

const execFileAsync = promisify(execFile);
const LOG_LIMIT = 4 * 1024 * 1024;

export interface KamailioOptions {
  /** Listen address (UDP and TCP). Default 127.0.0.1. */
  host?: string;
  /** Listen port; default a free one. */
  port?: number;
  /** Where runtime files go; default a fresh temp dir. */
  tmpDir?: string;
  /** Shared memory in MB (`-m`); default 64. */
  shmMb?: number;
  /** Private memory per process in MB (`-M`); default 8. */
  pkgMb?: number;
  /** Worker processes per listener (CHILDREN / TCP_CHILDREN); default 2. */
  children?: number;
  /** Overrides KNOWN_USER_REGEX (users answered 480 rather than 404 when not registered). */
  knownUserRegex?: string;
  /** More `-A NAME=value` defines (value used verbatim: quote strings yourself). */
  defines?: Record<string, string>;
  /** Config file; default docker/kamailio/kamailio.cfg. */
  configPath?: string;
  /** How long to wait for the first OPTIONS answer; default 10 s. */
  startTimeoutMs?: number;
}

export interface KamailioHandle {
  readonly host: string;
  readonly port: number;
  /** Pid of the current main process (changes on restart). */
  readonly pid: number;
  readonly tmpDir: string;
  /** `unix:/…/ctl.sock`, for `kamcmd -s`. */
  readonly ctlSocket: string;
  /** e.g. `kamailio 5.6.3 (x86_64/linux)`. */
  readonly version: string;
  /** All statistics (`stats.get_statistics all`) as name → number, e.g. `core:rcv_requests_message`. */
  stats(): Promise<Record<string, number>>;
  /** Any kamcmd RPC, raw text output (e.g. `rpc('ul.dump', 'brief')`). */
  rpc(command: string, ...args: string[]): Promise<string>;
  /** Stop and start again on the same host/port/tmpDir (memory state is lost, like a real restart). */
  restart(): Promise<void>;
  /** SIGTERM the process group, SIGKILL after 5 s; resolves when every process of it is gone. */
  stop(): Promise<void>;
  /** stdout+stderr captured so far (all runs). */
  logs(): string;
}

/** Why Kamailio tests cannot run here, or undefined when they can. */
export function kamailioMissingReason(): string | undefined {
  const v = spawnSync('kamailio', ['-v'], { encoding: 'utf8' });
  if (v.error || v.status !== 0) return 'kamailio binary not found (Debian package `kamailio`)';
  if (spawnSync('kamcmd', ['-h'], { encoding: 'utf8' }).error) return 'kamcmd not found (package `kamailio`)';
  const modules = [
    '/usr/lib/x86_64-linux-gnu/kamailio/modules',
    '/usr/lib/aarch64-linux-gnu/kamailio/modules',
    '/usr/lib/kamailio/modules',
  ];
  const moduleDir = modules.find((dir) => existsSync(join(dir, 'presence.so')));
  if (!moduleDir) {
    return 'Kamailio presence module missing (Debian package `kamailio-presence-modules`)';
  }
  for (const module of ['pua.so', 'pua_reginfo.so', 'presence_reginfo.so', 'db_text.so']) {
    if (!existsSync(join(moduleDir, module)))
      return `Kamailio module ${module} missing (Debian packages \`kamailio\`, \`kamailio-presence-modules\`)`;
  }
  if (!existsSync(join(DBTEXT_SCHEMA_DIR, 'pua'))) return `${DBTEXT_SCHEMA_DIR}/pua missing (Debian package \`kamailio\`)`;
  return undefined;
}

/** Where Debian's kamailio package keeps the db_text table files (the `version` and `pua` tables). */
const DBTEXT_SCHEMA_DIR = '/usr/share/kamailio/dbtext/kamailio';

/**
 * pua (under pua_reginfo) needs a database even in memory mode: a private db_text directory per instance
 * with the `version` and `pua` tables, copied from the package (kamailio.cfg, PUA_DB_URL).
 */
function preparePuaDb(tmpDir: string): string {
  const dir = join(tmpDir, 'dbtext');
  mkdirSync(dir, { recursive: true });
  for (const table of ['version', 'pua']) {
    if (!existsSync(join(dir, table))) copyFileSync(join(DBTEXT_SCHEMA_DIR, table), join(dir, table));
  }
  return dir;
}

/** True when kamailio, kamcmd and the presence modules are installed. */
export function hasKamailio(): boolean {
  return kamailioMissingReason() === undefined;
}

/** `kamailio 5.6.3 (x86_64/linux)`, or undefined when absent. */
export function kamailioVersion(): string | undefined {
  const v = spawnSync('kamailio', ['-v'], { encoding: 'utf8' });
  return /version:\s*(.+)/.exec(v.stdout ?? '')?.[1]?.trim();
}

/** Parse `kamcmd stats.get_statistics all` output (`group:name = value` lines). */
export function parseStats(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = /^\s*([\w.-]+:[\w.-]+)\s*=\s*(-?\d+)\s*$/.exec(line);
    if (m) out[m[1]] = Number(m[2]);
  }
  return out;
}

/** Start Kamailio and resolve once it answers OPTIONS over UDP and TCP. */
export async function startKamailio(options: KamailioOptions = {}): Promise<KamailioHandle> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? (await freePort(host));
  const tmpDir = options.tmpDir ?? makeTempDir('kamailio');
  const ctlSocket = `unix:${join(tmpDir, 'ctl.sock')}`;
  const puaDb = preparePuaDb(tmpDir);
  const children = options.children ?? 2;
  const defines: Record<string, string> = {
    LISTEN_IP: host,
    SIP_PORT: String(port),
    SERVER_ADDRESS: `"sip:presence@${host}:${port}"`,
    CTL_SOCKET: `"${ctlSocket}"`,
    RUN_DIR: `"${tmpDir}"`,
    CHILDREN: String(children),
    TCP_CHILDREN: String(children),
    PUA_DB_URL: `"text://${puaDb}"`,
    REGINFO_PUBLISH_PROXY: `"sip:${host}:${port}"`,
    REGINFO_DOMAIN: `"${host}"`,
    ...(options.knownUserRegex ? { KNOWN_USER_REGEX: JSON.stringify(options.knownUserRegex) } : {}),
    ...options.defines,
  };
  const args = ['-DD', '-E', '-x', 'tlsf', '-m', String(options.shmMb ?? 64), '-M', String(options.pkgMb ?? 8)];
  args.push('-f', repoPath(options.configPath ?? 'docker/kamailio/kamailio.cfg'));
  for (const [name, value] of Object.entries(defines)) args.push('-A', `${name}=${value}`);

  const log = serverLog(LOG_LIMIT);
  const answers = async () => (await optionsPing(host, port, 'udp', 300)) === 200 && (await optionsPing(host, port, 'tcp', 300)) === 200;
  /** `startedAs`: keep a restarted Kamailio in the cleanup scope of the first one (beforeAll stays). */
  const launch = (startedAs?: number) =>
    launchServer({
      name: 'kamailio',
      command: 'kamailio',
      args,
      log,
      ready: answers,
      startTimeoutMs: options.startTimeoutMs ?? 10_000,
      where: `${host}:${port}`,
      startedAs,
    });
  let child: ChildProcess = await launch();

  async function stop(): Promise<void> {
    const pid = child.pid;
    if (pid === undefined) return;
    await terminateGroup(pid);
    untrackProcess(pid);
    if (groupAlive(pid)) throw new Error(`kamailio pid ${pid} still alive after SIGKILL`);
  }

  async function rpc(command: string, ...rpcArgs: string[]): Promise<string> {
    const { stdout } = await execFileAsync('kamcmd', ['-s', ctlSocket, command, ...rpcArgs], { timeout: 5_000 });
    return stdout;
  }

  return {
    host,
    port,
    tmpDir,
    ctlSocket,
    version: kamailioVersion() ?? 'unknown',
    get pid() {
      return child.pid ?? -1;
    },
    stats: async () => parseStats(await rpc('stats.get_statistics', 'all')),
    rpc,
    async restart() {
      const startedAs = child.pid === undefined ? undefined : processStartSeq(child.pid);
      await stop();
      child = await launch(startedAs);
    },
    stop,
    logs: log.text,
  };
}

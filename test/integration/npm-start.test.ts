/**
 * `npm start` as an operator or a process supervisor runs it: npm → sh → node. A SIGTERM sent to the
 * top process (npm) must reach the agent, which drains and exits, freeing its ports; nothing may be left
 * orphaned. The start script execs node on the compiled dist/ (see README "Process and install").
 * Real processes: npm, the agent; its own process group, stopped by pid in afterAll whatever happens.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify as toYaml, parse as parseYaml } from 'yaml';
import { PROFILES_DIR } from '../../src/profiles/load-profile.js';
import { pidAlive, terminateGroup } from '../support/cleanup.js';
import { waitUntil } from '../support/poll.js';
import { freePort, isPortBound } from '../support/ports.js';
import { makeTempDir, repoRoot } from '../support/repo-paths.js';

/** Pids of the processes whose command line mentions `needle` (read from /proc; binds nothing). */
function pidsWithArg(needle: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').includes(needle)) pids.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

describe('npm start', () => {
  let npm: ChildProcess | undefined;
  // What `prestart` does, ahead of the timed part: the first run of a clean clone compiles src/ to dist/,
  // which takes a minute or more on a busy two-core machine.
  beforeAll(() => void execFileSync(process.execPath, ['scripts/build-if-stale.mjs'], { cwd: repoRoot, stdio: 'inherit' }), 300_000);
  afterAll(async () => {
    if (npm?.pid !== undefined) await terminateGroup(npm.pid);
  });

  it('drains and exits on a SIGTERM sent to npm, leaving no agent process and freeing its ports', async () => {
    const dir = makeTempDir('npm-start');
    const httpPort = await freePort('127.0.0.1');
    const sipPort = await freePort('127.0.0.2');
    const lab = parseYaml(readFileSync(join(PROFILES_DIR, 'kamailio-lab.yaml'), 'utf8')) as Record<string, Record<string, unknown>>;
    const profilePath = join(dir, 'profile.yaml');
    writeFileSync(
      profilePath,
      toYaml({
        ...lab,
        outboundProxy: { host: '127.0.0.1', port: await freePort(), transport: 'udp' },
        presence: { ...lab.presence, enabled: false },
      }),
    );
    const configPath = join(dir, 'agent.yaml');
    writeFileSync(
      configPath,
      toYaml({
        profile: profilePath,
        sip: {
          listen: [
            { host: '127.0.0.2', port: sipPort, transport: 'udp' },
            { host: '127.0.0.2', port: sipPort, transport: 'tcp' },
          ],
        },
        http: { host: '127.0.0.1', port: httpPort },
        store: { path: join(dir, 'pushes.sqlite') },
        log: { level: 'info', pretty: false },
      }),
    );

    let out = '';
    npm = spawn('npm', ['start', '--', '--config', configPath], {
      cwd: repoRoot,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, SPA_CONFIG: '', NODE_OPTIONS: '' },
    });
    npm.stdout?.on('data', (c: Buffer) => (out += c.toString()));
    npm.stderr?.on('data', (c: Buffer) => (out += c.toString()));
    const npmExited = new Promise<number | null>((resolve) => npm?.once('exit', (code) => resolve(code)));

    const up = await waitUntil(() => isPortBound(httpPort, 'tcp') === true, 60_000);
    expect(up, `agent did not listen on ${httpPort}:\n${out}`).toBe(true);
    expect((await fetch(`http://127.0.0.1:${httpPort}/healthz`)).status).toBe(200);
    const agentPids = pidsWithArg(configPath).filter((pid) => pid !== npm?.pid);
    expect(agentPids.length).toBeGreaterThan(0);

    process.kill(npm.pid!, 'SIGTERM'); // the top process only, as a supervisor or a terminal would
    expect(await waitUntil(() => agentPids.every((pid) => !pidAlive(pid)), 20_000), `agent pids ${agentPids} still alive\n${out}`).toBe(
      true,
    );
    expect(await npmExited).toBe(0);
    expect(out).toContain('stopping: intake closed, draining');
    expect(isPortBound(httpPort, 'tcp')).toBe(false);
    expect(isPortBound(sipPort, 'udp', '127.0.0.2')).toBe(false);
    expect(isPortBound(sipPort, 'tcp', '127.0.0.2')).toBe(false);
  }, 120_000);
});

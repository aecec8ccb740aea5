/**
 * The CLI as an operator runs it: `check-config` exit codes and its ONE error line naming
 * the field (config and profile), and `push` against a real agent started with `start` on free ports.
 * Real processes: each is spawned in its own process group and stopped by pid in afterAll.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { PROFILES_DIR } from '../../src/profiles/load-profile.js';
import { terminateGroup } from '../support/cleanup.js';
import { eventually, waitUntil } from '../support/poll.js';
import { freePort } from '../support/ports.js';
import { makeTempDir, repoRoot } from '../support/repo-paths.js';

const dir = makeTempDir('cli');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cli(args: string[], timeout = 60_000): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
    cwd: repoRoot,
    encoding: 'utf8',
    timeout,
    env: { ...process.env, NO_COLOR: '1' },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function writeYaml(name: string, value: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, toYaml(value));
  return path;
}

/** kamailio-lab with the proxy moved to a closed loopback port, no presence, unknown users handed back. */
async function quietProfile(changes: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
  const lab = parseYaml(readFileSync(join(PROFILES_DIR, 'kamailio-lab.yaml'), 'utf8')) as Record<string, Record<string, unknown>>;
  return {
    ...lab,
    outboundProxy: { host: '127.0.0.1', port: await freePort(), transport: 'udp' },
    presence: { ...lab.presence, enabled: false, whenUnknown: 'hand-back' },
    ...changes,
  };
}

describe('check-config', () => {
  it('exits 0 on a valid config and its profile', async () => {
    const profile = writeYaml('valid-profile.yaml', await quietProfile());
    const config = writeYaml('valid.yaml', { profile, http: { port: 18180 }, log: { modules: { sip: 'debug' } } });
    const run = cli(['check-config', config]);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^ok: config .* with profile kamailio-lab\n$/);
  });

  it('exits 1 with ONE line naming the field on an invalid config', () => {
    const config = writeYaml('bad-config.yaml', { http: { port: 'eighty' } });
    const run = cli(['check-config', config]);
    expect(run.status).toBe(1);
    const lines = run.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^error \[CONFIG_INVALID\]: .*http\.port/);
  });

  it('exits 1 with ONE line naming ppg.handBackUrl when it carries user:password@ (the password not echoed)', () => {
    const config = writeYaml('credentials.yaml', { ppg: { handBackUrl: 'http://ppg:pw-in-url-77@127.0.0.1:8181/pap' } });
    const run = cli(['check-config', config]);
    expect(run.status).toBe(1);
    const lines = run.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^error \[CONFIG_INVALID\]: .*ppg\.handBackUrl.*credentials/);
    expect(run.stderr).not.toContain('pw-in-url-77');
  });

  it('exits 1 with ONE line naming the profile field when the config points to an invalid profile', async () => {
    const profile = writeYaml('bad-profile.yaml', await quietProfile({ message: { sizeThreshold: 1300, largeMessage: 'carrier-pigeon' } }));
    const config = writeYaml('points-to-bad-profile.yaml', { profile });
    const run = cli(['check-config', config]);
    expect(run.status).toBe(1);
    const lines = run.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^error \[PROFILE_INVALID\]: .*message\.largeMessage/);
  });
});

const PI_PASSWORD = 'pw-secret-1';
const PI_TOKEN = 'tok-secret-0123456789';

describe('push, status and cancel against a running agent (intake with credentials)', () => {
  let agent: ChildProcess | undefined;
  let httpPort = 0;
  let stderr = '';

  beforeAll(async () => {
    httpPort = await freePort();
    const profile = writeYaml('agent-profile.yaml', await quietProfile());
    const config = writeYaml('agent.yaml', {
      profile,
      sip: { listen: [{ host: '127.0.0.2', port: await freePort('127.0.0.2'), transport: 'udp' }] },
      http: { host: '127.0.0.1', port: httpPort },
      store: { path: join(dir, 'pushes.sqlite') },
      ppg: { handBackUrl: 'http://127.0.0.1:1/pap' },
      intake: { auth: { users: [{ name: 'pi-one', password: PI_PASSWORD, token: PI_TOKEN }] } },
      log: { level: 'warn', pretty: false },
    });
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'start', '--config', config], {
      cwd: repoRoot,
      detached: true,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    agent = child;
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const healthy = () =>
      fetch(`http://127.0.0.1:${httpPort}/healthz`).then(
        (r) => r.ok,
        () => false,
      );
    const up = await waitUntil(async () => child.exitCode !== null || (await healthy()), 30_000, 100);
    if (!up || child.exitCode !== null) throw new Error(`agent did not come up within 30 s: ${stderr}`);
  }, 40_000);

  afterAll(async () => {
    if (agent?.pid !== undefined) await terminateGroup(agent.pid);
  });

  const url = () => `http://127.0.0.1:${httpPort}/pap`;
  const basic = () => ['--user', 'pi-one', '--password', PI_PASSWORD];

  it('push: a human summary by default, exit 3 for PAP 3010 (class 3xxx), with Basic credentials', () => {
    const run = cli(['push', '--url', url(), ...basic(), '--to', 'sip:zoe@127.0.0.1', '--push-id', 'cli-1', '--text', 'hi']);
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe('3010 handed back, hint SMS (push-id cli-1)\n');
    expect(run.status).toBe(3);
  });

  it('push --xml prints the raw PAP answer; --json the fields; a bearer --token works too', () => {
    const xml = cli(['push', '--url', url(), '--token', PI_TOKEN, '--to', 'sip:zoe@127.0.0.1', '--push-id', 'cli-2', '--xml']);
    expect(xml.status).toBe(3);
    expect(xml.stdout).toMatch(/^<\?xml[\s\S]*<push-response push-id="cli-2"[\s\S]*code="3010"/);
    const json = cli(['push', '--url', url(), '--token', PI_TOKEN, '--to', 'sip:zoe@127.0.0.1', '--push-id', 'cli-3', '--json']);
    expect(json.status).toBe(3);
    expect(JSON.parse(json.stdout)).toMatchObject({
      httpStatus: 200,
      element: 'push-response',
      pushId: 'cli-3',
      code: 3010,
      bearerHint: 'SMS',
    });
  }, 120_000);

  it('push: a credential in --url is sent as Basic auth and never printed', async () => {
    const withCreds = `http://pi-one:${PI_PASSWORD}@127.0.0.1:${httpPort}/pap`;
    const ok = cli(['push', '--url', withCreds, '--to', 'sip:zoe@127.0.0.1', '--push-id', 'cli-4']);
    expect(ok.stdout).toContain('3010 handed back, hint SMS');
    const down = cli(['push', '--url', `http://pi-one:${PI_PASSWORD}@127.0.0.1:${await freePort()}/pap`, '--to', '+15550100']);
    expect(down.status).toBe(1);
    expect(down.stderr).toMatch(/^error: cannot reach the agent at http:\/\/127\.0\.0\.1:\d+\/pap: ECONNREFUSED\n$/);
    expect(`${ok.stdout}${ok.stderr}${down.stdout}${down.stderr}`).not.toContain(PI_PASSWORD);
  }, 120_000);

  it('exit 1 without a PAP answer (401 without credentials); status and cancel exit 2 for a 2xxx answer', () => {
    const denied = cli(['push', '--url', url(), '--to', 'sip:zoe@127.0.0.1']);
    expect(denied.status).toBe(1);
    expect(denied.stdout).toMatch(/^HTTP 401 without a PAP answer \(the intake wants credentials/);
    // A push answered 3010 is not kept, so its id is unknown to status and cancel: 2004, class 2.
    const status = cli(['status', '--url', url(), ...basic(), 'no-such-push']);
    expect(status.stdout).toMatch(/^no-such-push: unknown \(2004/);
    expect(status.status).toBe(2);
    const cancel = cli(['cancel', '--url', url(), ...basic(), 'no-such-push']);
    expect(cancel.stdout).toMatch(/^2004/);
    expect(cancel.status).toBe(2);
  }, 120_000);

  it('--version prints the package version; a usage error exits 64', () => {
    const version = cli(['--version']);
    expect(version.status).toBe(0);
    expect(version.stdout.trim()).toBe((JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version);
    const usage = cli(['push', '--url', url()]);
    expect(usage.status).toBe(64);
    expect(usage.stderr).toContain("required option '--to <address>' not specified");
  }, 120_000);

  it('the started agent serves readiness, metrics, the JSON API and the OpenAPI file (wired in agent.ts)', async () => {
    const base = `http://127.0.0.1:${httpPort}`;
    // The profile's core is a closed port: once its OPTIONS probes fail, /readyz says not ready and names it.
    const readyz = async () => {
      const ready = await fetch(`${base}/readyz`);
      return { status: ready.status, body: (await ready.json()) as { status?: string; checks?: Record<string, boolean> } };
    };
    const { body: readiness } = await eventually(readyz, (r) => r.status === 503, 15_000, 100);
    expect(readiness.status).toBe('not-ready');
    expect(readiness.checks).toMatchObject({ sipEngine: true, store: true, intake: true });
    expect(Object.entries(readiness.checks ?? {}).find(([name]) => name.startsWith('sipCore:udp:127.0.0.1:'))?.[1]).toBe(false);
    const json = await fetch(`${base}/v1/pushes`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${PI_TOKEN}` },
      body: JSON.stringify({ target: 'sip:yves@127.0.0.1', content: { text: 'hi' }, contentType: 'text/plain', pushId: 'cli-json-1' }),
    });
    expect(json.status).toBe(200);
    expect(await json.json()).toMatchObject({ outcome: 'handed-back', papCode: 3010, bearerHint: 'SMS' });
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/spa_handbacks_total\{hint="SMS",mode="sync"\} [1-9]/);
    expect(metrics).toContain('spa_process_cpu_seconds_total');
    expect((await fetch(`${base}/admin/table`)).status).toBe(404);
    expect((await fetch(`${base}/openapi.yaml`)).status).toBe(200);
  });

  it('exits 1 with one line when no agent listens at --url', async () => {
    const run = cli(['push', '--url', `http://127.0.0.1:${await freePort()}/pap`, '--to', '+15550100']);
    expect(run.status).toBe(1);
    expect(run.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^error: cannot reach the agent at .*ECONNREFUSED/)]);
  });
});

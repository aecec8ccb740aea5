/**
 * The docker/compose.yaml topology end to end: Kamailio, drachtio-server (its public image), the agent
 * image on the drachtio engine, SIPp UAs. Needs a Docker engine and the testcontainers package, which is
 * not a dependency of the project (it brings native modules every install would build): `npm run
 * test:containers` installs it and runs this file. Without either, every test skips and says why (then
 * the contract suite covers the engine against a locally built drachtio-server, see
 * docs/production-drachtio.md).
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { papControl, papPush, postPap, userAddress } from '../support/agent-under-test.js';
import { repoRoot } from '../support/repo-paths.js';

/** The part of the testcontainers API this file uses (the package is optional, so no type import). */
interface StartedCompose {
  down(options: { timeout: number }): Promise<unknown>;
  getContainer(name: string): { logs(): Promise<AsyncIterable<unknown> & { toArray(): Promise<unknown[]> }> };
}
interface ComposeBuilder {
  withBuild(): ComposeBuilder;
  withWaitStrategy(container: string, strategy: unknown): ComposeBuilder;
  withStartupTimeout(ms: number): ComposeBuilder;
  up(services: string[]): Promise<StartedCompose>;
}
interface TestcontainersApi {
  DockerComposeEnvironment: new (dir: string, file: string) => ComposeBuilder;
  getContainerRuntimeClient(): Promise<{ info: unknown }>;
  Wait: { forHealthCheck(): unknown; forOneShotStartup(): unknown };
}

async function loadTestcontainers(): Promise<{ api?: TestcontainersApi; missing?: string }> {
  const name = 'testcontainers'; // a variable, so tsc does not look for the optional package's types
  let api: TestcontainersApi;
  try {
    api = (await import(name)) as TestcontainersApi;
  } catch {
    return { missing: 'the testcontainers package is not installed (`npm run test:containers` installs it and runs this file)' };
  }
  try {
    const client = await api.getContainerRuntimeClient();
    await client.info;
    return { api };
  } catch (error) {
    return { missing: `no container runtime reachable (${(error as Error).message.split('\n')[0]})` };
  }
}

const { api: tc, missing } = await loadTestcontainers();
if (missing) console.warn(`test/containers/compose-topology: skipped, ${missing}`);

const PAP_URL = 'http://127.0.0.1:8180/pap';
const KAMAILIO = '172.28.0.10';

function papCode(xml: string): number | undefined {
  return Number(/code="(\d+)"/.exec(xml.replace(/<progress-note[^>]*>/g, ''))?.[1]) || undefined;
}

async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

describe.skipIf(missing !== undefined)('compose topology: agent on drachtio-server + Kamailio + SIPp', () => {
  let environment: StartedCompose | undefined;

  beforeAll(async () => {
    const { DockerComposeEnvironment, Wait } = tc!;
    environment = await new DockerComposeEnvironment(join(repoRoot, 'docker'), 'compose.yaml')
      .withBuild()
      .withWaitStrategy('agent-1', Wait.forHealthCheck())
      .withWaitStrategy('alice-register-1', Wait.forOneShotStartup())
      .withWaitStrategy('alice-publish-1', Wait.forOneShotStartup())
      .withWaitStrategy('bob-publish-1', Wait.forOneShotStartup())
      .withStartupTimeout(300_000)
      .up(['kamailio', 'drachtio', 'agent', 'alice-uas', 'alice-register', 'alice-publish', 'bob-publish']);
  }, 600_000);

  afterAll(async () => {
    await environment?.down({ timeout: 10_000 });
  }, 120_000);

  it('delivers a push to a reachable user (SIP MESSAGE through drachtio-server and Kamailio)', async () => {
    const push = papPush({ pushId: 'ct-1', address: userAddress(`sip:alice@${KAMAILIO}`), content: Buffer.from('hello alice') });
    const accepted = await postPap(PAP_URL, push);
    expect(papCode(accepted.text)).toBe(1001);
    const state = await eventually(
      async () => {
        const status = await postPap(PAP_URL, papControl('statusquery-message', 'ct-1'));
        const value = /message-state="([a-z-]+)"/.exec(status.text)?.[1];
        return value === 'delivered' ? value : undefined;
      },
      30_000,
      'ct-1 delivered',
    );
    expect(state).toBe('delivered');
    const uasLogs = await (await environment!.getContainer('alice-uas-1').logs()).toArray();
    expect(Buffer.concat(uasLogs.map((c) => Buffer.from(c as Uint8Array))).toString()).toContain('hello alice');
  }, 60_000);

  it('hands back a push to an unreachable user at once, with a bearer hint', async () => {
    const push = papPush({ pushId: 'ct-2', address: userAddress(`sip:bob@${KAMAILIO}`), content: Buffer.from('hello bob') });
    const response = await postPap(PAP_URL, push);
    expect(response.status).toBe(200);
    expect(papCode(response.text)).toBe(3010);
    expect(response.headers.get('x-push-bearer-hint')).toBe('SMS');
  }, 60_000);
});

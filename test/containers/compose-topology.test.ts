/**
 * The docker/compose.yaml topology end to end (issue #5): Kamailio, drachtio-server (its public image),
 * the agent image on the drachtio engine, SIPp UAs. Needs a Docker engine; without one every test skips
 * and says why (our CI machines have none: then the contract suite covers the engine against a locally
 * built drachtio-server, see docs/production-drachtio.md).
 */
import { join } from 'node:path';
import { DockerComposeEnvironment, getContainerRuntimeClient, Wait, type StartedDockerComposeEnvironment } from 'testcontainers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { papControl, papPush, postPap, userAddress } from '../support/agent-under-test.js';
import { repoRoot } from '../support/repo-paths.js';

async function dockerMissingReason(): Promise<string | undefined> {
  try {
    const client = await getContainerRuntimeClient();
    await client.info;
    return undefined;
  } catch (error) {
    return `no container runtime reachable (${(error as Error).message.split('\n')[0]})`;
  }
}

const missing = await dockerMissingReason();
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
  let environment: StartedDockerComposeEnvironment | undefined;

  beforeAll(async () => {
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
    expect(Buffer.concat(uasLogs.map((c) => Buffer.from(c))).toString()).toContain('hello alice');
  }, 60_000);

  it('hands back a push to an unreachable user at once, with a bearer hint', async () => {
    const push = papPush({ pushId: 'ct-2', address: userAddress(`sip:bob@${KAMAILIO}`), content: Buffer.from('hello bob') });
    const response = await postPap(PAP_URL, push);
    expect(response.status).toBe(200);
    expect(papCode(response.text)).toBe(3010);
    expect(response.headers.get('x-push-bearer-hint')).toBe('SMS');
  }, 60_000);
});

/**
 * Property test of the whole PAP intake below HTTP: `PapEndpoint.handlePap` (over the push core) on thousands of random
 * requests (random bytes, PAP fragment soup, damaged valid pushes; random content types) never throws
 * and always answers a PAP document with a PAP code and a matching HTTP status. Real SQLite (in
 * memory), fake engine and oracle (pure logic: unit test).
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/lib/logger.js';
import { loadProfile } from '../../src/profiles/load-profile.js';
import { PapEndpoint } from '../../src/intake/pap/pap-endpoint.js';
import { PushCore } from '../../src/push/push-core.js';
import { sqlitePushStorePort } from '../../src/push/store/sqlite/sqlite-push-store-port.js';
import type { ReachabilityOracle } from '../../src/capabilities/reachability-oracle.js';
import { PushStore } from '../../src/push/store/sqlite/sqlite-push-store.js';
import { intakeRequest, validPush } from '../support/pap-arbitraries.js';
import { stubEngine } from '../support/stub-engine.js';

const stores: PushStore[] = [];
afterEach(() => {
  for (const s of stores.splice(0)) s.close();
});

function service(reachability: 'reachable' | 'unreachable'): { pushes: PapEndpoint; sent: () => number } {
  const engine = stubEngine();
  const oracle: ReachabilityOracle = {
    decide: async () => ({ reachability, acceptedApps: 'any', bearerHint: 'SMS', reason: 'fuzz' }),
    recordDelivery: () => undefined,
  };
  const store = PushStore.open(':memory:');
  stores.push(store);
  const pushes = pap({
    store: sqlitePushStorePort(store),
    engine,
    oracle,
    profile: loadProfile('kamailio-lab'),
    logger: silentLogger(),
    handBackUrl: 'http://127.0.0.1:1/handback',
    policy: 'presence-aware',
    maxInFlight: 10,
    maxQueued: 10_000,
  });
  return { pushes, sent: () => engine.sent.length };
}

const ANSWERS: Record<number, string[]> = {
  200: ['push-response', 'cancel-response', 'statusquery-response'],
  202: ['push-response'],
  400: ['badmessage-response'],
  503: ['push-response'],
};

describe('PAP intake on random input (fast-check)', () => {
  it.each(['reachable', 'unreachable'] as const)(
    'handlePap never throws and always answers PAP (%s user)',
    async (reachability) => {
      const { pushes } = service(reachability);
      const seen = new Map<number, number>();
      await fc.assert(
        fc.asyncProperty(intakeRequest, async ({ contentType, body }) => {
          const reply = await pushes.handlePap(contentType, body);
          seen.set(reply.httpStatus, (seen.get(reply.httpStatus) ?? 0) + 1);
          expect(Object.keys(ANSWERS).map(Number)).toContain(reply.httpStatus);
          expect(reply.contentType).toBe('application/xml');
          const root = /<(push-response|cancel-response|statusquery-response|badmessage-response)\b/.exec(reply.body)?.[1];
          expect(ANSWERS[reply.httpStatus]).toContain(root);
          expect(reply.body).toMatch(/code="\d{4}"/);
        }),
        { numRuns: 1500 },
      );
      // The generators reach every branch: accepted/handed back, and refused.
      expect(seen.get(400) ?? 0).toBeGreaterThan(0);
      expect((seen.get(202) ?? 0) + (seen.get(200) ?? 0)).toBeGreaterThan(0);
    },
    60_000,
  );

  it('a valid push still gets 1001 after the barrage', async () => {
    const { pushes } = service('reachable');
    await fc.assert(
      fc.asyncProperty(intakeRequest, async ({ contentType, body }) => void (await pushes.handlePap(contentType, body))),
      { numRuns: 300 },
    );
    const push = validPush('after-fuzz');
    const reply = await pushes.handlePap(push.contentType, push.body);
    expect(reply.body).toContain('code="1001"');
  });
});

/** The push core behind its PAP edge, as the HTTP intake drives them. */
function pap(options: ConstructorParameters<typeof PushCore>[0]): PapEndpoint {
  return new PapEndpoint(new PushCore(options));
}

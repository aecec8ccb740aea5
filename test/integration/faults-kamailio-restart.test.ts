/**
 * Fault: the SIP core (Kamailio: registrar + presence + proxy) restarts mid-load and loses all its
 * memory state (registrations, presentities, subscription dialogs). Pushes in flight must reach an
 * outcome (the lost MESSAGE transactions time out → hand-back), and presence must recover without
 * help: the watcher's next refresh gets 481, it resubscribes, and the user's state is right again.
 *
 * The profile asks for 4 s subscriptions (below the schema's 60 s floor, set directly for the test) so
 * the refresh comes within the test's time; hold-down is 0 so the table follows presence alone.
 */
import { describe, expect, it } from 'vitest';
import { useProcessCleanup } from '../support/cleanup.js';
import { letTimePass, waitUntil } from '../support/poll.js';
import { kamailioMissingReason, startKamailio } from '../support/kamailio.js';
import { sippMissingReason } from '../support/sipp.js';
import { publishPresence, registerUser, startMessageUas } from '../support/sip-users.js';
import { labProfile, papPush, postPap, startAgentUnderTest, userAddress } from '../support/agent-under-test.js';

const missing = kamailioMissingReason() ?? sippMissingReason();
if (missing) console.warn(`faults-kamailio-restart.test.ts skipped: ${missing}`);

const TERMINAL = new Set(['delivered', 'handed-back', 'expired', 'cancelled']);

describe.skipIf(missing !== undefined)('fault: Kamailio restarts mid-load', () => {
  useProcessCleanup('each');

  it('presence subscriptions recover and every accepted push reaches an outcome', async () => {
    const kamailio = await startKamailio();
    const uas = await startMessageUas({ timeoutS: 60 });
    await registerUser(kamailio, { user: 'kr-alice', contactPort: uas.port });
    await publishPresence(kamailio, { user: 'kr-alice', basic: 'open' });
    const base = labProfile(kamailio, { expiresSeconds: 4 });
    const profile = { ...base, capabilities: { ...base.capabilities, holdDownSeconds: 0 } };
    const sut = await startAgentUnderTest(kamailio, { profile });
    try {
      const aor = `sip:kr-alice@${kamailio.host}`;
      expect((await sut.agent.oracle.decide(aor)).reachability).toBe('reachable');

      const accepted: string[] = [];
      const answers = new Map<number, number>();
      let i = 0;
      const load = (async () => {
        const end = Date.now() + 3000;
        while (Date.now() < end) {
          const pushId = `kr-${i++}`;
          const res = await postPap(sut.papUrl, papPush({ pushId, address: userAddress(aor), content: Buffer.from(pushId) }));
          answers.set(res.status, (answers.get(res.status) ?? 0) + 1);
          if (res.status === 202) accepted.push(pushId);
          await letTimePass(30); // the pace of the load is part of the scenario
        }
      })();
      await letTimePass(800); // the restart falls ~0.8 s into the 3 s of load: the fault's timing is the scenario
      const attemptsBefore = sut.agent.watcher.stats().subscribeAttempts;
      const restartAt = Date.now();
      await kamailio.restart();
      console.log(`faults-kamailio-restart: Kamailio restarted in ${Date.now() - restartAt} ms (new pid ${kamailio.pid})`);
      await registerUser(kamailio, { user: 'kr-alice', contactPort: uas.port });
      await publishPresence(kamailio, { user: 'kr-alice', bare: true }); // now closed
      await load;

      // The watcher finds out by itself (refresh → 481 → resubscribe) and the table follows the new state.
      const closedSeen = await waitUntil(() => sut.agent.table.decide(aor).reachability === 'unreachable', 15_000);
      const closedAfter = Date.now() - restartAt;
      expect(closedSeen).toBe(true);
      expect(sut.agent.watcher.stats().subscribeAttempts).toBeGreaterThan(attemptsBefore);
      await publishPresence(kamailio, { user: 'kr-alice', basic: 'open' });
      expect(await waitUntil(() => sut.agent.table.decide(aor).reachability === 'reachable', 10_000)).toBe(true);

      const allDone = await waitUntil(() => accepted.every((id) => TERMINAL.has(sut.agent.store.get(id)?.state ?? '')), 15_000);
      const states = new Map<string, number>();
      for (const id of accepted) {
        const s = sut.agent.store.get(id)?.state ?? 'missing';
        states.set(s, (states.get(s) ?? 0) + 1);
      }
      console.log(
        `faults-kamailio-restart: ${i} pushes sent, HTTP ${JSON.stringify(Object.fromEntries(answers))}; accepted ${accepted.length} → ${JSON.stringify(Object.fromEntries(states))}; closed state seen ${closedAfter} ms after the restart; watcher ${JSON.stringify(sut.agent.watcher.stats())}`,
      );
      expect(allDone).toBe(true);
      expect(accepted.length).toBeGreaterThan(0);
      // After recovery a push is delivered again.
      const after = await postPap(sut.papUrl, papPush({ pushId: 'kr-after', address: userAddress(aor), content: Buffer.from('after') }));
      expect(after.status).toBe(202);
      expect(await waitUntil(() => sut.agent.store.get('kr-after')?.state === 'delivered', 10_000)).toBe(true);
    } finally {
      await sut.stop();
    }
  }, 60_000);
});

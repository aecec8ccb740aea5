/**
 * Logs an operator can read: one line per push outcome (push id, user, outcome, reason) at a
 * configurable level; a SUBSCRIBE timeout as one warn line without a stack; malformed PAP XML answered
 * in plain words with the line counted from the start of the document.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino, type LevelWithSilent } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { CapabilityTable } from '../../src/capabilities/capability-table.js';
import { AgentError } from '../../src/errors.js';
import { PresenceWatcher } from '../../src/presence/presence-watcher.js';
import { loadProfile } from '../../src/profiles/load-profile.js';
import { readPapDocument } from '../../src/push/pap/pap-document.js';
import { PapEndpoint } from '../../src/intake/pap/pap-endpoint.js';
import { PushCore } from '../../src/push/push-core.js';
import { sqlitePushStorePort } from '../../src/push/store/sqlite/sqlite-push-store-port.js';
import type { ReachabilityOracle, ReachabilityVerdict } from '../../src/capabilities/reachability-oracle.js';
import { PushStore } from '../../src/push/store/sqlite/sqlite-push-store.js';
import { SipRequestError, SipStatusError, type SipEngine } from '../../src/sip/port.js';
import { stubEngine } from '../support/stub-engine.js';
import { waitFor } from '../support/poll.js';
import { papPush, userAddress } from '../support/agent-under-test.js';

type Line = Record<string, unknown> & { level: number; msg: string };

function captureLogger(level: LevelWithSilent = 'info') {
  const lines: Line[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const text of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(text) as Line);
      done();
    },
  });
  return { logger: pino({ level }, stream), lines };
}

const profile = loadProfile('kamailio-lab');
const stores: PushStore[] = [];
afterEach(() => {
  for (const store of stores.splice(0)) store.close();
});

function service(verdict: ReachabilityVerdict, outcomeLogLevel?: LevelWithSilent) {
  const { logger, lines } = captureLogger('info');
  const store = PushStore.open(join(mkdtempSync(join(tmpdir(), 'spa-logs-')), 'p.sqlite'));
  stores.push(store);
  const engine = stubEngine();
  const oracle: ReachabilityOracle = { decide: async () => verdict, recordDelivery: () => undefined };
  const pushes = pap({
    store: sqlitePushStorePort(store),
    engine,
    oracle,
    profile,
    logger,
    handBackUrl: 'http://127.0.0.1:9/handback',
    policy: 'presence-aware',
    maxInFlight: 10,
    maxQueued: 10,
    ...(outcomeLogLevel ? { outcomeLogLevel } : {}),
  });
  return { pushes, store, lines };
}

const outcomeLines = (lines: Line[]) => lines.filter((l) => typeof l.outcome === 'string');

describe('one log line per push outcome', () => {
  it('delivered: push id, user, outcome and reason at info', async () => {
    const { pushes, store, lines } = service({ reachability: 'reachable', acceptedApps: 'any', bearerHint: 'SMS', reason: 'open' });
    const { contentType, body } = papPush({
      pushId: 'log-1',
      address: userAddress('sip:alice@127.0.0.1'),
      content: Buffer.from('hi'),
      contentType: 'text/plain',
    });
    await pushes.handlePap(contentType, body);
    await waitFor(() => store.get('log-1')?.state === 'delivered', 'push log-1 delivered');
    await waitFor(() => outcomeLines(lines).length > 0, 'an outcome line');
    expect(outcomeLines(lines)).toEqual([
      expect.objectContaining({
        level: 30,
        pushId: 'log-1',
        aor: 'sip:alice@127.0.0.1',
        outcome: 'delivered',
        reason: 'SIP 200',
        sipStatus: 200,
      }),
    ]);
    expect(outcomeLines(lines)[0]?.msg).toBe('push log-1 delivered: SIP 200');
  });

  it('a synchronous hand-back (PAP 3010) logs the user, the reason and the bearer hint', async () => {
    const { pushes, lines } = service({ reachability: 'unreachable', acceptedApps: 'any', bearerHint: 'SMS', reason: 'presence closed' });
    const { contentType, body } = papPush({
      pushId: 'log-2',
      address: userAddress('sip:bob@127.0.0.1'),
      content: Buffer.from('hi'),
      contentType: 'text/plain',
    });
    expect((await pushes.handlePap(contentType, body)).body).toContain('3010');
    expect(outcomeLines(lines)).toEqual([
      expect.objectContaining({
        level: 30,
        pushId: 'log-2',
        aor: 'sip:bob@127.0.0.1',
        outcome: 'handed-back',
        mode: 'sync',
        bearerHint: 'SMS',
        reason: 'presence closed',
      }),
    ]);
  });

  it('the level is configurable: at debug the line is gone from an info log', async () => {
    const { pushes, lines } = service(
      { reachability: 'unreachable', acceptedApps: 'any', bearerHint: 'SMS', reason: 'presence closed' },
      'debug',
    );
    const { contentType, body } = papPush({
      pushId: 'log-3',
      address: userAddress('sip:bob@127.0.0.1'),
      content: Buffer.from('hi'),
      contentType: 'text/plain',
    });
    await pushes.handlePap(contentType, body);
    expect(outcomeLines(lines)).toEqual([]);
  });
});

describe('presence SUBSCRIBE failures', () => {
  function watcherFailingWith(err: unknown) {
    const { logger, lines } = captureLogger('debug');
    const engine = { subscribe: () => Promise.reject(err) } as unknown as SipEngine;
    const table = new CapabilityTable({ maxUsers: 10, profile });
    const watcher = new PresenceWatcher({ engine, table, profile, logger, backoff: { baseMs: 60_000, maxMs: 60_000 } });
    return { watcher, lines };
  }

  it('a timeout is one warn line naming the user and the timer, without a stack', async () => {
    const { watcher, lines } = watcherFailingWith(new SipRequestError('timeout', 'no final response within Timer F (32000 ms)'));
    void watcher.watch(['sip:carol@127.0.0.1']);
    await waitFor(() => lines.some((l) => String(l.msg).includes('SUBSCRIBE')), 'a SUBSCRIBE log line');
    const line = lines.find((l) => String(l.msg).includes('SUBSCRIBE')) as Line;
    await watcher.stop(100);
    expect(line.level).toBe(40);
    expect(line.aor).toBe('sip:carol@127.0.0.1');
    expect(line.msg).toContain('Timer F');
    expect(JSON.stringify(line)).not.toContain('stack');
  });

  it('a refusal (final non-2xx) is one info line with the status, without a stack', async () => {
    const { watcher, lines } = watcherFailingWith(new SipStatusError(403, 'Forbidden'));
    void watcher.watch(['sip:dave@127.0.0.1']);
    await waitFor(() => lines.some((l) => String(l.msg).includes('SUBSCRIBE')), 'a SUBSCRIBE log line');
    const line = lines.find((l) => String(l.msg).includes('SUBSCRIBE')) as Line;
    await watcher.stop(100);
    expect(line).toMatchObject({ level: 30, status: 403 });
    expect(JSON.stringify(line)).not.toContain('stack');
  });
});

describe('malformed PAP XML in plain words', () => {
  const PROLOG = '<?xml version="1.0"?>\n<!DOCTYPE pap PUBLIC "-//WAPFORUM//DTD PAP 2.0//EN" "http://www.wapforum.org/DTD/pap_2.0.dtd">\n';
  function problem(xml: string): string {
    try {
      readPapDocument(Buffer.from(xml, 'utf8'));
    } catch (err) {
      if (err instanceof AgentError) return err.message;
      throw err;
    }
    throw new Error('expected PAP_INVALID');
  }

  it('a truncated document names the elements left open', () => {
    expect(problem(`${PROLOG}<pap><push-message push-id="a">\n  <address address-value="x"/>`)).toBe(
      'malformed XML: the document ends before <pap>, <push-message> are closed (truncated?)',
    );
  });

  it('a wrongly nested close names both elements and counts lines from the top of the document', () => {
    expect(problem(`${PROLOG}<pap>\n<statusquery-message push-id="a">\n</pap>`)).toBe(
      'malformed XML: <statusquery-message> opened on line 4 is not closed before </pap> (line 5)',
    );
  });
});

/** The push core behind its PAP edge, as the HTTP intake drives them. */
function pap(options: ConstructorParameters<typeof PushCore>[0]): PapEndpoint {
  return new PapEndpoint(new PushCore(options));
}

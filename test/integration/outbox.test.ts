import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/lib/logger.js';
import { OutboxDispatcher, type OutboxDispatcherOptions } from '../../src/push/outbox/outbox-dispatcher.js';
import type { NewOutboxItem, OutboxItem } from '../../src/push/outbox/outbox-item.js';
import { PpgHttpClient } from '../../src/push/outbox/ppg-http-client.js';
import type { PushMove } from '../../src/push/store/push-store-port.js';
import { sqliteOutboxPort } from '../../src/push/store/sqlite/sqlite-outbox-port.js';
import { PushStore } from '../../src/push/store/sqlite/sqlite-push-store.js';
import { pushResponseXml, resultNotificationResponseXml } from '../support/pap-ppg.js';
import { letTimePass, waitFor } from '../support/poll.js';

/**
 * A PPG stand-in on 127.0.0.1: answers each POST with the next scripted status (then `fallback`); a 2xx
 * carries the PAP answer that acknowledges it (push-response 1001, or resultnotification-response 1000
 * under /notify) for the push named in the URL's `push` query parameter.
 */
class FakePpg {
  readonly hits: { at: number; body: Buffer; headers: IncomingHttpHeaders; rawHeaderNames: string[] }[] = [];
  script: number[] = [];
  fallback = 200;
  holdMs = 0;
  hang = false;
  active = 0;
  maxActive = 0;
  #server: Server | undefined;

  async listen(port = 0): Promise<number> {
    this.#server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.hits.push({
          at: Date.now(),
          body: Buffer.concat(chunks),
          headers: req.headers,
          rawHeaderNames: req.rawHeaders.filter((_, i) => i % 2 === 0),
        });
        if (this.hang) return;
        this.active++;
        this.maxActive = Math.max(this.maxActive, this.active);
        setTimeout(() => {
          this.active--;
          res.statusCode = this.script.shift() ?? this.fallback;
          const url = new URL(req.url ?? '/', 'http://x');
          const pushId = url.searchParams.get('push') ?? '';
          if (res.statusCode >= 300) res.end();
          else if (url.pathname.startsWith('/notify'))
            res.end(resultNotificationResponseXml(pushId, url.pathname === '/notify-refuse' ? 2000 : 1000));
          else res.end(pushResponseXml(pushId, 1001, 'Accepted'));
        }, this.holdMs);
      });
    });
    await new Promise<void>((resolve) => this.#server?.listen(port, '127.0.0.1', resolve));
    return (this.#server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** A port nothing listens on (bound then released). */
async function freePort(): Promise<number> {
  const probe = new FakePpg();
  const port = await probe.listen();
  await probe.close();
  return port;
}

const BODY = Buffer.from([0x2d, 0x2d, 0x78, 0x0d, 0x0a, 0x00, 0xff, 0x03]);

describe('OutboxDispatcher against a real HTTP server on 127.0.0.1', () => {
  let dir: string;
  let path: string;
  let store: PushStore;
  const ppgs: FakePpg[] = [];
  const dispatchers: OutboxDispatcher[] = [];
  let acked: OutboxItem[];

  const newPpg = (): FakePpg => {
    const ppg = new FakePpg();
    ppgs.push(ppg);
    return ppg;
  };

  /** The pipeline's move for an acknowledged hand-back. */
  const handedBack = (after?: () => void): PushMove => ({
    to: 'handed-back',
    detail: {},
    options: { expectedFrom: 'handing-back' },
    after,
  });

  /** A dispatcher whose acknowledgement moves the push handing-back → handed-back (the pipeline's job). */
  const dispatcher = (extra: Partial<OutboxDispatcherOptions> = {}): OutboxDispatcher => {
    const d = new OutboxDispatcher({
      outbox: sqliteOutboxPort(store),
      logger: silentLogger(),
      backoff: { baseMs: 20, maxMs: 80, jitter: 0.5 },
      concurrency: 2,
      requestTimeoutMs: 1000,
      pollIntervalMs: 50,
      react: (item, settlement) => {
        if (settlement.outcome !== 'acknowledged') return undefined;
        acked.push(item);
        return item.kind === 'hand-back' ? handedBack() : undefined;
      },
      ...extra,
    });
    dispatchers.push(d);
    return d;
  };

  const handBack = (pushId: string, port: number): NewOutboxItem => ({
    kind: 'hand-back',
    url: `http://127.0.0.1:${port}/pap/hand-back?push=${pushId}`,
    contentType: 'multipart/related; boundary=x',
    body: BODY,
    headers: { 'x-bearer-hint': 'SMS' },
  });

  /** Inserts a push and moves it to handing-back with its hand-back queued in the same transaction. */
  const acceptAndHandBack = (pushId: string, port: number): OutboxItem => {
    store.insert({ pushId, address: 'WAPPUSH=+1555/TYPE=PLMN', requestContentType: 'a/b', requestBody: BODY });
    store.transition(pushId, 'handing-back', { bearerHint: 'SMS' }, { outbox: handBack(pushId, port) });
    return store.outbox.listForPush(pushId)[0] as OutboxItem;
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'outbox-'));
    path = join(dir, 'pushes.sqlite');
    store = PushStore.open(path);
    acked = [];
  });

  afterEach(async () => {
    for (const d of dispatchers.splice(0)) await d.stop();
    for (const p of ppgs.splice(0)) await p.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('retries 503s with bounded backoff, then delivers exactly once on 200', async () => {
    const ppg = newPpg();
    ppg.script = [503, 503, 503];
    const item = acceptAndHandBack('p-503', await ppg.listen());
    // The delays the dispatcher schedules, read where it records each failure: the backoff is a property
    // of the code and is asserted exactly; the gaps on the wire add the machine's scheduling on top.
    const scheduled: number[] = [];
    const recordFailure = store.outbox.recordFailure.bind(store.outbox);
    store.outbox.recordFailure = (id, error, nextAttemptAt) => {
      scheduled.push(nextAttemptAt - Date.now());
      recordFailure(id, error, nextAttemptAt);
    };
    // A poll far longer than the test: every retry must come from the backoff timer.
    dispatcher({ pollIntervalMs: 60_000 }).start();

    await waitFor(() => store.get('p-503')?.state === 'handed-back', 'handed-back');
    await letTimePass(200); // under test: no extra POST follows the acknowledgement (one would go at once)
    expect(ppg.hits).toHaveLength(4);
    expect(acked).toHaveLength(1);
    const done = store.outbox.get(item.id);
    expect(done?.attempts).toBe(3);
    expect(done?.lastError).toBe('HTTP 503');
    expect(done?.doneAt).toBeDefined();
    expect(store.outbox.stats()).toEqual({ pending: 0, parked: 0, done: 1, refused: 0, gaveUp: 0 });
    // Byte-exact body and the headers the caller queued.
    expect(ppg.hits[0]?.body.equals(BODY)).toBe(true);
    expect(ppg.hits[0]?.headers['content-type']).toBe('multipart/related; boundary=x');
    expect(ppg.hits[0]?.headers['x-bearer-hint']).toBe('SMS');
    // Backoff: after failure k the delay is drawn from [c·(1−jitter), c] with c = min(maxMs, base·2^(k−1)).
    const ceilings = [20, 40, 80];
    expect(scheduled).toHaveLength(3);
    scheduled.forEach((delay, k) => {
      expect(delay).toBeGreaterThanOrEqual(ceilings[k]! / 2 - 2); // 2 ms: Date.now() read twice
      expect(delay).toBeLessThanOrEqual(ceilings[k]!);
    });
    // On the wire no retry comes early. The upper bound only says the timer fired (not the 60 s poll):
    // how late it fires is the machine's load (349 ms for an 80 ms delay at load average 25).
    const gaps = ppg.hits.slice(1).map((h, i) => h.at - (ppg.hits[i]?.at ?? 0));
    gaps.forEach((gap, k) => {
      expect(gap).toBeGreaterThanOrEqual(scheduled[k]! - 2);
      expect(gap).toBeLessThan(80 + 10_000);
    });
  });

  it('keeps retrying while the PPG refuses connections, and delivers once it is up', async () => {
    const port = await freePort();
    const item = acceptAndHandBack('p-down', port);
    dispatcher().start();
    await waitFor(() => (store.outbox.get(item.id)?.attempts ?? 0) >= 2, 'two refused attempts');
    expect(store.get('p-down')?.state).toBe('handing-back');

    const ppg = newPpg();
    await ppg.listen(port);
    await waitFor(() => store.get('p-down')?.state === 'handed-back', 'handed-back after the PPG came up');
    expect(ppg.hits).toHaveLength(1);
    expect(store.history('p-down').map((h) => h.to)).toEqual(['accepted', 'handing-back', 'handed-back']);
  });

  it('delivers an item still pending after the store is closed and reopened', async () => {
    const ppg = newPpg();
    ppg.fallback = 503;
    const port = await ppg.listen();
    const item = acceptAndHandBack('p-restart', port);
    const first = dispatcher();
    first.start();
    await waitFor(() => (store.outbox.get(item.id)?.attempts ?? 0) >= 1, 'a failed attempt');
    await first.stop();
    store.close();

    ppg.fallback = 200;
    store = PushStore.open(path);
    expect(store.outbox.stats().pending).toBe(1);
    expect(store.listResumable().map((r) => r.pushId)).toEqual(['p-restart']);
    dispatcher().start();
    await waitFor(() => store.get('p-restart')?.state === 'handed-back', 'handed-back after reopen');
    expect(acked.map((a) => a.id)).toEqual([item.id]);
    expect(store.backlog()).toBe(0);
  });

  it('sends an item queued with a state change as soon as it is kicked', async () => {
    const ppg = newPpg();
    const port = await ppg.listen();
    let looks = 0;
    const now = () => {
      looks += 1;
      return Date.now();
    };
    const d = dispatcher({ pollIntervalMs: 60_000, now });
    d.start();
    await waitFor(() => looks > 0, 'the first look at the table (it finds nothing; the next is 60 s away)', 2000);
    store.insert({ pushId: 'p-rn', address: 'WAPPUSH=+1/TYPE=PLMN', requestContentType: 'a/b', requestBody: BODY });
    store.transition(
      'p-rn',
      'expired',
      { reason: 'deliver-before passed' },
      {
        outbox: {
          kind: 'result-notification',
          url: `http://127.0.0.1:${port}/notify?push=p-rn`,
          contentType: 'application/xml',
          body: BODY,
        },
      },
    );
    d.kick();
    await waitFor(() => acked.length === 1, 'result notification acknowledged', 2000);
    expect(acked[0]?.kind).toBe('result-notification');
    expect(store.get('p-rn')?.state).toBe('expired');
  });

  it('gives up an item past the give-up rule: ended, kept in the table, never sent again, and the pipeline hears it', async () => {
    const ppg = newPpg();
    ppg.fallback = 503;
    const item = acceptAndHandBack('p-old', await ppg.listen());
    const settled: string[] = [];
    dispatcher({
      giveUp: { maxAttempts: 3 },
      react: (_item, s) => {
        settled.push(s.outcome);
        return undefined;
      },
    }).start();
    await waitFor(() => store.outbox.get(item.id)?.outcome === 'gave-up', 'gave up');
    expect(ppg.hits).toHaveLength(3);
    expect(settled).toEqual(['gave-up']);
    expect(store.outbox.get(item.id)?.lastError).toMatch(/no acknowledgement after 3 attempts \(last: HTTP 503\)/);
    expect(store.outbox.stats()).toEqual({ pending: 0, parked: 0, done: 0, refused: 0, gaveUp: 1 });
    dispatchers[0]?.kick();
    await waitFor(() => dispatchers[0]?.inflight() === 0, 'idle');
    expect(ppg.hits).toHaveLength(3);
  });

  it('times out a POST the PPG never answers, counts it, and stops within its bound', async () => {
    const ppg = newPpg();
    ppg.hang = true;
    const item = acceptAndHandBack('p-hang', await ppg.listen());
    const d = dispatcher({ requestTimeoutMs: 100 });
    d.start();
    await waitFor(() => (store.outbox.get(item.id)?.attempts ?? 0) >= 1, 'a timed-out attempt');
    expect(store.outbox.get(item.id)?.lastError).toMatch(/timed out/);
    await waitFor(() => d.inflight() === 1, 'the next attempt in flight');
    const started = Date.now();
    await d.stop();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(store.outbox.get(item.id)?.doneAt).toBeUndefined();
  });

  it('an acknowledgement callback that throws once: nothing is recorded, the answer is settled again without a re-POST, the push ends once', async () => {
    const ppg = newPpg();
    const item = acceptAndHandBack('p-throw', await ppg.listen());
    let calls = 0;
    const d = dispatcher({
      react: (settled, settlement) => {
        calls++;
        expect(settlement.outcome).toBe('acknowledged');
        // What a failed write in the pipeline looks like from here: it throws after the move was
        // applied, and that move must roll back with the item's ending.
        return handedBack(() => {
          if (calls === 1) throw new Error('pipeline bug');
          acked.push(settled);
        });
      },
    });
    d.start();
    await waitFor(() => store.get('p-throw')?.state === 'handed-back' && store.outbox.get(item.id)?.doneAt !== undefined, 'handed-back');
    expect(calls).toBe(2);
    expect(ppg.hits).toHaveLength(1); // the PPG's answer was kept, not asked for again
    expect(store.outbox.get(item.id)?.outcome).toBe('acknowledged');
    expect(store.history('p-throw').map((h) => h.to)).toEqual(['accepted', 'handing-back', 'handed-back']);
    expect(d.stats().settleFailures).toBe(1);
  });

  it('an acknowledgement callback that keeps throwing: the item gives up and the push still reaches one terminal state', async () => {
    const ppg = newPpg();
    const item = acceptAndHandBack('p-throws', await ppg.listen());
    let calls = 0;
    const d = dispatcher({
      maxSettleAttempts: 3,
      react: () => {
        calls++;
        throw new Error('pipeline bug');
      },
    });
    d.start();
    await waitFor(() => store.get('p-throws')?.state === 'hand-back-abandoned', 'hand-back-abandoned');
    const ended = store.outbox.get(item.id);
    expect(ended?.outcome).toBe('gave-up');
    expect(ended?.lastError).toMatch(/the PPG answered \(acknowledged\) but recording it failed 3 times: pipeline bug/);
    expect(store.get('p-throws')?.reason).toMatch(/recording it failed/);
    expect(calls).toBe(4); // three settlements of the answer, one of the give-up
    expect(ppg.hits).toHaveLength(1);
    expect(store.history('p-throws').map((h) => h.to)).toEqual(['accepted', 'handing-back', 'hand-back-abandoned']);
    expect(d.stats()).toMatchObject({ settleFailures: 4, settleGaveUp: 1 });
  });

  it('an item whose transaction rolled back is never sent; the item that reuses its id is sent once', async () => {
    const ppg = newPpg();
    const port = await ppg.listen();
    for (const pushId of ['rb-1', 'rb-2']) {
      store.insert({ pushId, address: 'WAPPUSH=+1555/TYPE=PLMN', requestContentType: 'a/b', requestBody: BODY });
    }
    const d = dispatcher();
    d.start();
    expect(() =>
      store.runInTransaction(() => {
        store.transition('rb-1', 'handing-back', {}, { outbox: handBack('rb-1', port) });
        throw new Error('rolled back');
      }),
    ).toThrow('rolled back');
    d.kick();
    store.transition('rb-2', 'handing-back', {}, { outbox: handBack('rb-2', port) });
    d.kick();
    await waitFor(() => store.get('rb-2')?.state === 'handed-back', 'rb-2 handed back');
    await letTimePass(200); // under test: the rolled-back item is never sent (it would go at once)
    expect(ppg.hits).toHaveLength(1);
    expect(acked.map((i) => i.pushId)).toEqual(['rb-2']);
    expect(store.get('rb-1')?.state).toBe('accepted');
    expect(store.outbox.listForPush('rb-1')).toEqual([]);
  });

  it('holds at most maxInMemory items; the rest wait in the table and every item is delivered once', async () => {
    const ppg = newPpg();
    const port = await ppg.listen();
    for (let i = 0; i < 8; i++) acceptAndHandBack(`mem-${i}`, port);
    const d = dispatcher({ maxInMemory: 3, concurrency: 2 });
    d.start();
    expect(d.stats().inMemory).toBeLessThanOrEqual(3);
    for (let i = 8; i < 14; i++) {
      acceptAndHandBack(`mem-${i}`, port);
      d.kick();
      expect(d.stats().inMemory).toBeLessThanOrEqual(3);
    }
    await waitFor(() => acked.length === 14, 'all 14 acknowledged');
    await letTimePass(200); // under test: no item is sent twice (a repeat would go at once)
    expect(ppg.hits).toHaveLength(14);
    expect(new Set(acked.map((i) => i.pushId)).size).toBe(14);
    expect(store.outbox.stats()).toMatchObject({ pending: 0, done: 14 });
    expect(d.stats()).toMatchObject({ inMemory: 0, spilled: false });
  });

  it('a kicked item is taken from memory: no due-query polling, at most one id check per look', async () => {
    const sql: string[] = [];
    store.close();
    store = PushStore.open(path, { onSql: (text) => sql.push(text) });
    const pi = newPpg();
    const port = await pi.listen();
    const d = dispatcher({ pollIntervalMs: 20 }); // frequent looks: each would be a table scan if it polled
    d.start();
    await waitFor(() => d.stats().spilled === false, 'the read at start');
    sql.length = 0;
    for (let i = 0; i < 20; i++) {
      const pushId = `n-${i}`;
      store.insert({ pushId, address: 'WAPPUSH=+1555/TYPE=PLMN', requestContentType: 'a/b', requestBody: BODY });
      store.transition(
        pushId,
        'expired',
        {},
        {
          outbox: {
            kind: 'result-notification',
            url: `http://127.0.0.1:${port}/notify?push=${pushId}`,
            contentType: 'application/xml',
            body: BODY,
          },
        },
      );
      d.kick();
    }
    await waitFor(() => store.outbox.stats().done === 20, 'all 20 acknowledged');
    await letTimePass(200); // under test: ten idle looks (every 20 ms) read nothing
    // The looks' reads (the settlement's own read of an item with its push is not a look).
    const outboxReads = sql.filter((text) => /^\s*SELECT\b[\s\S]*\bFROM outbox\b/i.test(text) && !/\bJOIN pushes\b/i.test(text));
    expect(outboxReads.filter((text) => /next_attempt_at\s*<=/.test(text))).toEqual([]);
    expect(outboxReads.length).toBeLessThanOrEqual(20);
    expect(pi.hits).toHaveLength(20);
  });

  it('keeps at most `concurrency` POSTs in flight and delivers them all', async () => {
    const ppg = newPpg();
    ppg.holdMs = 40;
    const port = await ppg.listen();
    for (let i = 0; i < 6; i++) acceptAndHandBack(`p-c${i}`, port);
    dispatcher({ concurrency: 2 }).start();
    await waitFor(() => store.backlog() === 0, 'all six handed back');
    expect(ppg.hits).toHaveLength(6);
    expect(ppg.maxActive).toBe(2);
  });

  it('drains hand-backs in their own lane: 40 notifications to a hanging notify URL do not delay 8 hand-backs', async () => {
    const hanging = newPpg();
    hanging.hang = true;
    const notifyPort = await hanging.listen();
    const ppg = newPpg();
    const port = await ppg.listen();
    for (let i = 0; i < 40; i++) {
      store.insert({ pushId: `n-${i}`, address: 'WAPPUSH=+1555/TYPE=PLMN', requestContentType: 'a/b', requestBody: BODY });
      store.transition(
        `n-${i}`,
        'expired',
        {},
        {
          outbox: {
            kind: 'result-notification',
            url: `http://127.0.0.1:${notifyPort}/notify?push=n-${i}`,
            contentType: 'application/xml',
            body: BODY,
          },
        },
      );
    }
    const d = dispatcher({ concurrency: 8, requestTimeoutMs: 10_000 });
    d.start();
    await waitFor(() => hanging.hits.length >= 8, 'the notification lane is full of hanging POSTs');
    const started = Date.now();
    for (let i = 0; i < 8; i++) acceptAndHandBack(`hb-${i}`, port);
    d.kick();
    await waitFor(() => [...Array(8).keys()].every((i) => store.get(`hb-${i}`)?.state === 'handed-back'), 'all 8 handed back', 5000);
    const tookMs = Date.now() - started;
    console.log(`outbox lanes: 8 hand-backs done in ${tookMs} ms with ${d.inflight('result-notification')} notifications hanging`);
    expect(tookMs).toBeLessThan(3000);
    expect(d.inflight('result-notification')).toBe(8);
  });

  it('sends only Content-Type, Content-Length, Host, Connection and User-Agent (+ Authorization to the PPG origin only)', async () => {
    const ppg = newPpg();
    const port = await ppg.listen();
    const other = newPpg();
    const otherPort = await other.listen();
    store.insert({ pushId: 'h-1', address: 'WAPPUSH=+1555/TYPE=PLMN', requestContentType: 'a/b', requestBody: BODY });
    store.transition(
      'h-1',
      'handing-back',
      {},
      {
        outbox: {
          kind: 'hand-back',
          url: `http://127.0.0.1:${port}/pap?push=h-1`,
          contentType: 'multipart/related; boundary=x',
          body: BODY,
        },
      },
    );
    store.insert({ pushId: 'h-2', address: 'WAPPUSH=+1555/TYPE=PLMN', requestContentType: 'a/b', requestBody: BODY });
    store.transition(
      'h-2',
      'expired',
      {},
      {
        outbox: {
          kind: 'result-notification',
          url: `http://127.0.0.1:${otherPort}/notify?push=h-2`,
          contentType: 'application/xml',
          body: BODY,
        },
      },
    );
    const client = new PpgHttpClient({
      userAgent: 'sip-push-agent/9.9.9',
      authorization: 'Basic cHBnOnNlY3JldA==',
      authOrigin: `http://127.0.0.1:${port}`,
      maxSocketsPerOrigin: 2,
    });
    dispatcher({ client }).start();
    await waitFor(() => acked.length === 2, 'both acknowledged');
    client.close();
    const names = (hit: { rawHeaderNames: string[] } | undefined) => hit?.rawHeaderNames.map((n) => n.toLowerCase()).sort();
    expect(names(ppg.hits[0])).toEqual(['authorization', 'connection', 'content-length', 'content-type', 'host', 'user-agent']);
    expect(ppg.hits[0]?.headers['user-agent']).toBe('sip-push-agent/9.9.9');
    expect(ppg.hits[0]?.headers.authorization).toBe('Basic cHBnOnNlY3JldA==');
    // The PI's notify URL never gets the PPG's credentials.
    expect(names(other.hits[0])).toEqual(['connection', 'content-length', 'content-type', 'host', 'user-agent']);
  });

  it('a request the client cannot build ends at once (gave-up), and no credential reaches last_error', async () => {
    const ppg = newPpg();
    const port = await ppg.listen();
    store.insert({ pushId: 'u-1', address: 'WAPPUSH=+1555/TYPE=PLMN', requestContentType: 'a/b', requestBody: BODY });
    store.transition(
      'u-1',
      'expired',
      {},
      {
        outbox: {
          kind: 'result-notification',
          url: `http://pi:s3cr3tpw@127.0.0.1:${port}/notify?push=u-1`,
          contentType: 'application/xml',
          body: BODY,
        },
      },
    );
    store.insert({ pushId: 'u-2', address: 'WAPPUSH=+1555/TYPE=PLMN', requestContentType: 'a/b', requestBody: BODY });
    store.transition(
      'u-2',
      'handing-back',
      {},
      {
        outbox: {
          kind: 'hand-back',
          url: `http://127.0.0.1:${port}/pap?push=u-2`,
          contentType: 'multipart/related; boundary=x',
          body: BODY,
          headers: { 'x-bearer': 'SMS\r\nX-Evil: 1' },
        },
      },
    );
    const settled: string[] = [];
    dispatcher({
      react: (item, s) => {
        settled.push(`${item.pushId}:${s.outcome}`);
        return undefined;
      },
    }).start();
    await waitFor(() => settled.length === 2, 'both ended');
    expect(settled.sort()).toEqual(['u-1:gave-up', 'u-2:gave-up']);
    const [n] = store.outbox.listForPush('u-1');
    const [h] = store.outbox.listForPush('u-2');
    expect(n?.attempts).toBe(0);
    expect(h?.attempts).toBe(0);
    expect(n?.lastError).toMatch(/request cannot be built: .*credentials/);
    expect(h?.lastError).toMatch(/request cannot be built/);
    for (const item of [n, h]) expect(item?.lastError).not.toContain('s3cr3tpw');
    expect(ppg.hits).toHaveLength(0);
  });

  it('a notification the PI refuses (resultnotification-response 2000 inside HTTP 200) ends that item refused, counted, never re-sent', async () => {
    const pi = newPpg();
    const port = await pi.listen();
    store.insert({ pushId: 'r-1', address: 'WAPPUSH=+1555/TYPE=PLMN', requestContentType: 'a/b', requestBody: BODY });
    store.transition(
      'r-1',
      'expired',
      {},
      {
        outbox: {
          kind: 'result-notification',
          url: `http://127.0.0.1:${port}/notify-refuse?push=r-1`,
          contentType: 'application/xml',
          body: BODY,
        },
      },
    );
    const settled: string[] = [];
    const d = dispatcher({
      react: (_item, s) => {
        settled.push(s.outcome);
        return undefined;
      },
    });
    d.start();
    await waitFor(() => settled.length === 1, 'ended');
    expect(settled).toEqual(['refused']);
    expect(store.outbox.stats()).toMatchObject({ pending: 0, refused: 1 });
    expect(store.outbox.listForPush('r-1')[0]?.lastError).toBe('PAP 2000 Bad request');
    d.kick();
    await waitFor(() => d.inflight() === 0, 'idle');
    expect(pi.hits).toHaveLength(1);
    expect(store.get('r-1')?.state).toBe('expired');
  });

  it('trusts an extra CA (what ppg.tls.caPath feeds the client) for an https PPG; without it the POST fails and is retried', async () => {
    const dir2 = mkdtempSync(join(tmpdir(), 'outbox-tls-'));
    const openssl = spawnSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        join(dir2, 'key.pem'),
        '-out',
        join(dir2, 'cert.pem'),
      ],
      { encoding: 'utf8' },
    );
    if (openssl.status !== 0) {
      console.warn(`outbox TLS test skipped: openssl could not make a certificate (${openssl.stderr || openssl.error?.message})`);
      rmSync(dir2, { recursive: true, force: true });
      return;
    }
    const cert = readFileSync(join(dir2, 'cert.pem'));
    const server = createHttpsServer({ cert, key: readFileSync(join(dir2, 'key.pem')) }, (req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(202, { 'content-type': 'application/xml' }).end(pushResponseXml('t-1', 1001, 'Accepted')));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    store.insert({ pushId: 't-1', address: 'WAPPUSH=+1555/TYPE=PLMN', requestContentType: 'a/b', requestBody: BODY });
    store.transition(
      't-1',
      'handing-back',
      {},
      {
        outbox: { kind: 'hand-back', url: `https://127.0.0.1:${port}/pap`, contentType: 'multipart/related; boundary=x', body: BODY },
      },
    );
    const items = store.outbox.listForPush('t-1');
    const untrusted = new PpgHttpClient({ userAgent: 'sip-push-agent/test', maxSocketsPerOrigin: 1 });
    const first = dispatcher({ client: untrusted });
    first.start();
    await waitFor(() => (store.outbox.get(items[0]?.id ?? 0)?.attempts ?? 0) >= 1, 'a refused TLS handshake');
    expect(store.outbox.get(items[0]?.id ?? 0)?.lastError).toMatch(/certificate/i);
    await first.stop();
    untrusted.close();
    const trusted = new PpgHttpClient({ userAgent: 'sip-push-agent/test', maxSocketsPerOrigin: 1, ca: cert });
    dispatcher({ client: trusted }).start();
    await waitFor(() => store.get('t-1')?.state === 'handed-back', 'handed back over https with the configured CA');
    trusted.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir2, { recursive: true, force: true });
  });
});

/**
 * The dispatcher's table reads against a scripted OutboxPort (pure loop logic, no store): a rescan asked
 * for while a read is under way is not swallowed by that read's answer — the table is read again after it.
 * This is what cluster mode relies on after taking over a dead agent's outbox items.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/lib/logger.js';
import { OutboxDispatcher } from '../../src/push/outbox/outbox-dispatcher.js';
import type { OutboxItem } from '../../src/push/outbox/outbox-item.js';
import type { OutboxPort } from '../../src/push/outbox/outbox-port.js';
import { waitFor } from '../support/poll.js';

describe('OutboxDispatcher.rescan', () => {
  const dispatchers: OutboxDispatcher[] = [];
  afterEach(async () => {
    for (const d of dispatchers.splice(0)) await d.stop();
  });

  it('a rescan during a table read reads the table again once that read answered', async () => {
    const reads: Array<(answer: { items: OutboxItem[]; complete: boolean }) => void> = [];
    const port: OutboxPort = {
      takeNew: async () => ({ items: [], overflowed: false, withdrawn: [] }),
      pending: () => new Promise((resolve) => reads.push(resolve)),
      recordFailure: async () => undefined,
      settle: async () => true,
    };
    const d = new OutboxDispatcher({
      outbox: port,
      logger: silentLogger(),
      backoff: { baseMs: 20, maxMs: 80, jitter: 0 },
      concurrency: 1,
      requestTimeoutMs: 1000,
      pollIntervalMs: 60_000,
      react: () => undefined,
    });
    dispatchers.push(d);
    d.start();
    await waitFor(() => reads.length === 1, 'the read at start');
    d.rescan(); // items were just taken over: the read under way may have missed them
    reads[0]?.({ items: [], complete: true });
    await waitFor(() => reads.length === 2, 'a second read for the rescan');
    reads[1]?.({ items: [], complete: true });
    await waitFor(() => d.stats().spilled === false, 'the table read complete');
    expect(reads).toHaveLength(2);
  });
});

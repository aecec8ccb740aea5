/**
 * A metrics source that throws on a scrape (a closed store, a stopped watcher, a bug) must not take the
 * scrape down, and must not vanish either: it is logged with `{ err }`, counted in
 * spa_internal_errors_total{where}, and flagged in spa_metrics_source_failed{metric}.
 * The sources are small stand-ins: this tests the scrape's handling, not the parts it reads.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { countInternalError, internalErrorCount } from '../../src/lib/internal-errors.js';
import { createMetrics } from '../../src/ops/metrics.js';
import type { MetricsSources } from '../../src/ops/metrics-sources.js';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

function sources(store: MetricsSources['store']): MetricsSources {
  const counters = {
    accepted: 3,
    handedBackSync: 0,
    handedBackAsync: 0,
    delivered: 2,
    expired: 0,
    cancelled: 0,
    rejected: 0,
    messagesSent: 2,
    overloaded: 0,
    handedBackEngineLimit: 0,
    unconfirmed: 0,
    unconfirmedHandedBack: 0,
    scheduleFull: 0,
    storeUnwritable: 0,
    coreDown: 0,
  };
  return {
    pushes: { counters, queueDepth: { inFlight: 0, queued: 0 }, scheduledCount: 0, handBackCounts: () => [] },
    store,
    engine: {
      stats: () => ({ requestsSent: {}, responsesReceived: {}, retransmissions: 0, transactionTimeouts: 0, requestsReceived: {} }),
    },
    table: { stats: () => ({ size: 0, maxUsers: 10, hits: 0, misses: 0, evictions: 0, expirations: 0, deletions: 0 }) },
  };
}

function sample(body: string, series: string): number | undefined {
  const line = body.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('a failing metrics source', () => {
  it('is logged with { err }, counted and flagged; the rest of the scrape is served; recovery is seen', async () => {
    let broken = true;
    const store: MetricsSources['store'] = {
      countsByState: () => {
        if (broken) throw new Error('The database connection is not open');
        return { accepted: 1 };
      },
      backlog: () => 1,
      outbox: { stats: () => ({ pending: 0, parked: 0, done: 0 }) },
    };
    const { logger, lines } = capture();
    const metrics = createMetrics(sources(store), { processMetrics: false, logger });
    const where = 'metrics:spa_store_pushes';
    const before = internalErrorCount(where);

    const first = (await metrics.scrape()).body;
    // The other metrics are still there.
    expect(sample(first, 'spa_pushes_total{outcome="delivered",reason="sip-2xx"}')).toBe(2);
    expect(sample(first, 'spa_store_backlog')).toBe(1);
    // The failing one is visible to whoever reads the scrape.
    expect(sample(first, `spa_internal_errors_total{where="${where}"}`)).toBe(before + 1);
    expect(sample(first, 'spa_metrics_source_failed{metric="spa_store_pushes"}')).toBe(1);
    const warned = lines.filter((l) => l.where === where);
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatchObject({ level: 40, component: 'metrics', err: { message: 'The database connection is not open' } });
    expect((warned[0]?.err as { stack?: string } | undefined)?.stack).toContain('Error');

    // Still broken: counted again, not logged again (no log flood at every scrape).
    const second = (await metrics.scrape()).body;
    expect(sample(second, `spa_internal_errors_total{where="${where}"}`)).toBe(before + 2);
    expect(lines.filter((l) => l.where === where)).toHaveLength(1);

    broken = false;
    const third = (await metrics.scrape()).body;
    expect(sample(third, 'spa_store_pushes{state="accepted"}')).toBe(1);
    expect(sample(third, 'spa_metrics_source_failed{metric="spa_store_pushes"}')).toBe(0);
    expect(sample(third, `spa_internal_errors_total{where="${where}"}`)).toBe(before + 2);
    expect(lines.some((l) => l.metric === 'spa_store_pushes' && l.msg === 'metrics source recovered')).toBe(true);
  });

  it('exposes what any part counted through countInternalError', async () => {
    const metrics = createMetrics(
      sources({ countsByState: () => ({}), backlog: () => 0, outbox: { stats: () => ({ pending: 0, parked: 0, done: 0 }) } }),
      { processMetrics: false },
    );
    const before = internalErrorCount('test:elsewhere');
    countInternalError('test:elsewhere', new Error('survived'));
    expect(sample((await metrics.scrape()).body, 'spa_internal_errors_total{where="test:elsewhere"}')).toBe(before + 1);
  });
});

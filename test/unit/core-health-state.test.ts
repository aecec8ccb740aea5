import { describe, expect, it } from 'vitest';
import { afterProbe, initialCoreHealth, type CoreHealthState } from '../../src/core-health/core-health-state.js';

const thresholds = { failuresToDown: 2, successesToUp: 2 };
const run = (results: boolean[], start: CoreHealthState = initialCoreHealth(0)) =>
  results.reduce((s, ok, i) => afterProbe(s, { ok, at: i + 1, detail: ok ? '200 OK' : 'timeout' }, thresholds), start);

describe('core health state', () => {
  it('is unknown until the first result; the first answer makes it up', () => {
    expect(initialCoreHealth(0).state).toBe('unknown');
    expect(run([true]).state).toBe('up');
  });
  it('goes down only after failuresToDown failures in a row', () => {
    expect(run([true, false]).state).toBe('up');
    expect(run([true, false, true, false]).state).toBe('up');
    const down = run([true, false, false]);
    expect(down).toMatchObject({ state: 'down', since: 3, downs: 1 });
    expect(run([false, false]).state).toBe('down');
  });
  it('comes back up after successesToUp answers in a row, and counts each down', () => {
    const down = run([false, false]);
    expect(run([true], down).state).toBe('down');
    expect(run([true, false, true], down).state).toBe('down');
    const up = run([true, true], down);
    expect(up).toMatchObject({ state: 'up', downs: 1 });
    expect(run([false, false], up)).toMatchObject({ state: 'down', downs: 2 });
  });
});

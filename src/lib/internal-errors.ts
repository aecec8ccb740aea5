/**
 * Failures the agent catches and survives — a metrics source that throws, a background task that fails
 * and is retried later — are never dropped silently: the caller logs them with `{ err }` and counts
 * them here, under a short fixed name for the place (`where`, e.g. `metrics:spa_store_pushes`), and
 * `/metrics` exposes the counts as `spa_internal_errors_total{where}`. A rising count is a bug to report
 * or a resource to fix (the log line says which), even though the agent kept serving.
 *
 * Process-wide, like the process metrics: two agents in one process (tests) share the counts, so tests
 * assert on differences. Bounded: at most MAX_PLACES names; further names count under `other`.
 */
import type { Logger } from './logger.js';

const MAX_PLACES = 256;
const counts = new Map<string, number>();

export interface InternalErrorCount {
  where: string;
  count: number;
}

/** Counts one survived failure at `where`; with `log`, also logs it as a warning with `{ err, where }`. */
export function countInternalError(where: string, err: unknown, log?: Logger): void {
  const key = counts.has(where) || counts.size < MAX_PLACES ? where : 'other';
  counts.set(key, (counts.get(key) ?? 0) + 1);
  log?.warn({ err, where }, `internal error survived at ${where}`);
}

/** Every place that counted a failure so far, with its count. */
export function internalErrorCounts(): InternalErrorCount[] {
  return [...counts].map(([where, count]) => ({ where, count }));
}

/** The count at one place (0 when none). */
export function internalErrorCount(where: string): number {
  return counts.get(where) ?? 0;
}

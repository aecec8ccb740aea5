/** Small statistics helpers for the benchmark tables. */

/** The q-quantile (0..1) of `values` by nearest rank; NaN when empty. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] as number;
}

export function mean(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  return values.reduce((sum, v) => sum + v, 0) / values.length;
}

/** A number for a table cell: fixed decimals, '–' for NaN. */
export function fmt(value: number, decimals = 0): string {
  return Number.isFinite(value) ? value.toFixed(decimals) : '–';
}

/** The largest value (−Infinity when empty); a loop, since `Math.max(...xs)` overflows the stack on 100k+ values. */
export function maxOf(values: Iterable<number>): number {
  let best = -Infinity;
  for (const v of values) if (v > best) best = v;
  return best;
}

/** The smallest value (Infinity when empty). */
export function minOf(values: Iterable<number>): number {
  let best = Infinity;
  for (const v of values) if (v < best) best = v;
  return best;
}

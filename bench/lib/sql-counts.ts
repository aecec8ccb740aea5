/**
 * Reads what bench/lib/sql-count.mjs (preloaded into the agent) has counted: signal the process, wait
 * (bounded) for the file it writes. Also its memory, optionally after a full GC.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoPath } from '../../test/support/repo-paths.js';

export interface SqlCounts {
  statements: number;
  reads: number;
  writes: number;
  other: number;
  begin: number;
  commit: number;
  rollback: number;
  savepoint: number;
  release: number;
  exec: number;
  rss: number;
  heapUsed: number;
}

/** Node flags that load the counter (absolute path: the agent may run from another checkout). */
export function sqlCountNodeArgs(): string[] {
  return ['--expose-gc', '--import', repoPath('bench/lib/sql-count.mjs')];
}

export async function readSqlCounts(pid: number, o: { gc?: boolean; timeoutMs?: number } = {}): Promise<SqlCounts> {
  const file = join(tmpdir(), `spa-sql-count-${pid}.json`);
  rmSync(file, { force: true });
  if (o.gc) writeFileSync(`${file}.gc`, '');
  process.kill(pid, 'SIGUSR2');
  const deadline = Date.now() + (o.timeoutMs ?? 10_000);
  while (!existsSync(file)) {
    if (Date.now() > deadline) throw new Error(`agent ${pid} wrote no SQL counts within ${o.timeoutMs ?? 10_000} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const counts = JSON.parse(readFileSync(file, 'utf8')) as SqlCounts;
  rmSync(file, { force: true });
  return counts;
}

export function diffSql(after: SqlCounts, before: SqlCounts): SqlCounts {
  const out = { ...after };
  for (const key of Object.keys(out) as (keyof SqlCounts)[]) out[key] = after[key] - before[key];
  return out;
}

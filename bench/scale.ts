/**
 * Experiment 3, scale: capability-table memory per entry and NOTIFY processing rate at growing user
 * counts (one child process per size, `--expose-gc`, heap delta after GC), plus the subscriptions the
 * agent held against Kamailio (measured during the throughput warm-up).
 */
import { spawn } from 'node:child_process';
import { repoRoot } from '../test/support/repo-paths.js';
import { terminateGroup, trackProcess, untrackProcess } from '../test/support/cleanup.js';
import { fmt } from './lib/percentiles.js';
import { table } from './lib/report.js';
import { lineChart } from './lib/svg-chart.js';

export interface TableMemory {
  users: number;
  heapDeltaMb: number;
  rssDeltaMb: number;
  bytesPerEntry: number;
  notifiesPerS: number;
}

function measure(users: number, timeoutMs: number): Promise<TableMemory> {
  return new Promise((resolve, reject) => {
    const args = ['--expose-gc', '--max-old-space-size=8192', '--import', 'tsx', 'bench/scale/capability-memory.ts', String(users)];
    const proc = spawn(process.execPath, args, { cwd: repoRoot, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const pid = proc.pid;
    if (pid === undefined) return reject(new Error('scale child did not spawn'));
    trackProcess({ name: `bench scale ${users}`, pid, stop: () => terminateGroup(pid, 1000) });
    let out = '';
    proc.stdout?.on('data', (c: Buffer) => (out += c.toString()));
    proc.stderr?.on('data', (c: Buffer) => (out += c.toString()));
    const timer = setTimeout(() => void terminateGroup(pid, 1000), timeoutMs);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      untrackProcess(pid);
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (code !== 0 || !line) return reject(new Error(`scale child for ${users} users failed (exit ${code}): ${out.slice(-1000)}`));
      resolve(JSON.parse(line) as TableMemory);
    });
  });
}

export async function runScale(sizes: number[]): Promise<TableMemory[]> {
  const rows: TableMemory[] = [];
  for (const users of sizes) {
    const row = await measure(users, 900_000);
    console.log(`  table ${users} users: ${fmt(row.bytesPerEntry)} B/entry, ${fmt(row.notifiesPerS)} NOTIFY/s`);
    rows.push(row);
  }
  return rows;
}

export function scaleTable(rows: TableMemory[]): string {
  return table(
    ['users', 'heap + typed arrays Δ MB (after GC)', 'RSS Δ MB', 'bytes / entry', 'NOTIFYs/s (parse + record, 1 core)'],
    rows.map((r) => [
      r.users.toLocaleString('en-US'),
      fmt(r.heapDeltaMb, 1),
      fmt(r.rssDeltaMb, 1),
      fmt(r.bytesPerEntry),
      fmt(r.notifiesPerS),
    ]),
  );
}

export function scaleChart(rows: TableMemory[]): string {
  return lineChart(
    [
      { name: 'heap MB (after GC)', color: '#1f77b4', points: rows.map((r) => ({ x: r.users, y: r.heapDeltaMb })) },
      { name: 'bytes per entry ÷ 10', color: '#d62728', points: rows.map((r) => ({ x: r.users, y: r.bytesPerEntry / 10 })) },
    ],
    { title: 'Capability table: memory vs users', xLabel: 'users (log scale)', yLabel: 'MB  /  bytes ÷ 10', logX: true },
  );
}

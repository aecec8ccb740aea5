/** CPU time and memory of a process (and its descendants) read from /proc, Linux only. */
import { readFileSync, readdirSync } from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

function readStat(pid: number): { ppid: number; cpuTicks: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the ")" of comm: state ppid ... utime(14) stime(15) counted from 1 overall.
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(rest[1]), cpuTicks: Number(rest[11]) + Number(rest[12]) };
  } catch {
    return undefined;
  }
}

function statusKb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}

/** `pid` and every live descendant. */
export function processTree(pid: number): number[] {
  const parents = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readStat(Number(name));
    if (stat) parents.set(Number(name), stat.ppid);
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) {
    for (const [child, parent] of parents) if (parent === tree[i]) tree.push(child);
  }
  return tree;
}

/** CPU seconds (user+system) used so far by the tree under `pid`. */
export function cpuSeconds(pid: number): number {
  return processTree(pid).reduce((sum, p) => sum + (readStat(p)?.cpuTicks ?? 0), 0) / TICKS_PER_SECOND;
}

/** Current and peak resident memory (MB) of the largest process in the tree (the node running the agent). */
export function memoryMb(pid: number): { rssMb: number; peakRssMb: number } {
  let rss = 0;
  let peak = 0;
  for (const p of processTree(pid)) {
    rss = Math.max(rss, statusKb(p, 'VmRSS'));
    peak = Math.max(peak, statusKb(p, 'VmHWM'));
  }
  return { rssMb: rss / 1024, peakRssMb: peak / 1024 };
}

/** CPU % of one core used by the tree between two calls: `const m = cpuMeter(pid); …; m.percent()`. */
export function cpuMeter(pid: number): { percent(): number } {
  const startCpu = cpuSeconds(pid);
  const startWall = performance.now();
  return {
    percent() {
      const wall = (performance.now() - startWall) / 1000;
      return wall > 0 ? ((cpuSeconds(pid) - startCpu) / wall) * 100 : 0;
    },
  };
}

/** Like {@link cpuMeter} for this process alone (its children — Kamailio, SIPp, the agent — excluded). */
export function selfCpuMeter(): { percent(): number } {
  const start = process.cpuUsage();
  const startWall = performance.now();
  return {
    percent() {
      const used = process.cpuUsage(start);
      const wall = (performance.now() - startWall) / 1000;
      return wall > 0 ? ((used.user + used.system) / 1e6 / wall) * 100 : 0;
    },
  };
}

/** CPU microseconds (user+system, all threads) used so far by the tree under `pid` (10 ms resolution). */
export function cpuMicros(pid: number): number {
  return cpuSeconds(pid) * 1e6;
}

/** Bytes the tree under `pid` caused to be written to storage so far (`/proc/<pid>/io` write_bytes). */
export function writeBytes(pid: number): number {
  let sum = 0;
  for (const p of processTree(pid)) {
    try {
      const m = /^write_bytes:\s+(\d+)/m.exec(readFileSync(`/proc/${p}/io`, 'utf8'));
      sum += m ? Number(m[1]) : 0;
    } catch {
      // gone, or not ours to read
    }
  }
  return sum;
}

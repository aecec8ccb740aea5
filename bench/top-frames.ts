/**
 * `tsx bench/top-frames.ts <file.cpuprofile> [n]`: the functions with the most self time in a V8 CPU
 * profile (written by `--cpu-prof`, e.g. `npm run bench -- --quick --only throughput --cpu-prof`).
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

const [file, count = '15'] = process.argv.slice(2);
if (!file) throw new Error('usage: top-frames.ts <file.cpuprofile> [n]');
const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: ProfileNode[] };
const self = new Map<string, number>();
let total = 0;
for (const node of profile.nodes) {
  const hits = node.hitCount ?? 0;
  total += hits;
  const { functionName, url, lineNumber } = node.callFrame;
  const where = url.replace(/^.*\/(node_modules|src)\//, '$1/').replace(/^file:\/\//, '');
  const key = `${functionName || '(anonymous)'} ${where}:${lineNumber + 1}`;
  self.set(key, (self.get(key) ?? 0) + hits);
}
const rows = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, Number(count));
for (const [key, hits] of rows) console.log(`${((hits / total) * 100).toFixed(1).padStart(5)} %  ${key}`);

/**
 * Summary of a V8 heap snapshot (`--heapsnapshot-signal`, `v8.writeHeapSnapshot`): self size by
 * constructor, and the objects retaining the most (dominator tree, weak edges ignored) with the chain
 * of dominators up to a GC root, so "what holds the memory" has names.
 *
 * `npx tsx bench/heap-top.ts <file.heapsnapshot> [top=25]`
 */
import { readFileSync } from 'node:fs';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]]; edge_fields: string[]; edge_types: [string[]] } };
  nodes: number[];
  edges: number[];
  strings: string[];
}

const [file, topArg] = process.argv.slice(2);
if (!file) throw new Error('usage: heap-top <file.heapsnapshot> [top]');
const top = Number(topArg ?? 25);
const snap = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
const meta = snap.snapshot.meta;
const NF = meta.node_fields.length;
const EF = meta.edge_fields.length;
const nType = meta.node_fields.indexOf('type');
const nName = meta.node_fields.indexOf('name');
const nSize = meta.node_fields.indexOf('self_size');
const nEdges = meta.node_fields.indexOf('edge_count');
const eType = meta.edge_fields.indexOf('type');
const eName = meta.edge_fields.indexOf('name_or_index');
const eTo = meta.edge_fields.indexOf('to_node');
const nodeTypes = meta.node_types[0];
const edgeTypes = meta.edge_types[0];
const weak = edgeTypes.indexOf('weak');
const shortcut = edgeTypes.indexOf('shortcut');
const { nodes, edges, strings } = snap;
const n = nodes.length / NF;

const firstEdge = new Uint32Array(n + 1);
for (let i = 0, e = 0; i < n; i++) {
  firstEdge[i] = e;
  e += (nodes[i * NF + nEdges] as number) * EF;
  firstEdge[i + 1] = e;
}
const label = (i: number) => {
  const type = nodeTypes[nodes[i * NF + nType] as number] ?? '?';
  const name = strings[nodes[i * NF + nName] as number] ?? '?';
  return type === 'object' || type === 'closure' ? `${name}` : `(${type}) ${name.slice(0, 60)}`;
};
const edgeLabel = (e: number) => {
  const t = edgeTypes[edges[e + eType] as number];
  const v = edges[e + eName] as number;
  return t === 'element' || t === 'hidden' ? `[${v}]` : String(strings[v]);
};
const usable = (e: number) => edges[e + eType] !== weak && edges[e + eType] !== shortcut;

// Post-order DFS from the root (node 0), then Cooper–Harvey–Kennedy dominators.
const order = new Int32Array(n).fill(-1);
const post: number[] = [];
{
  const stack: number[] = [0];
  const cursor = new Uint32Array(n);
  const seen = new Uint8Array(n);
  seen[0] = 1;
  while (stack.length) {
    const v = stack[stack.length - 1] as number;
    const e = firstEdge[v]! + cursor[v]!;
    if (e < firstEdge[v + 1]!) {
      cursor[v]! += EF;
      if (!usable(e)) continue;
      const w = (edges[e + eTo] as number) / NF;
      if (!seen[w]) {
        seen[w] = 1;
        stack.push(w);
      }
    } else {
      stack.pop();
      order[v] = post.length;
      post.push(v);
    }
  }
}
const predStart = new Uint32Array(n + 1);
for (let v = 0; v < n; v++) {
  if (order[v]! < 0) continue;
  for (let e = firstEdge[v]!; e < firstEdge[v + 1]!; e += EF) if (usable(e)) predStart[(edges[e + eTo] as number) / NF + 1]! += 1;
}
for (let i = 0; i < n; i++) predStart[i + 1]! += predStart[i]!;
const preds = new Uint32Array(predStart[n]!);
{
  const fill = predStart.slice();
  for (let v = 0; v < n; v++) {
    if (order[v]! < 0) continue;
    for (let e = firstEdge[v]!; e < firstEdge[v + 1]!; e += EF) if (usable(e)) preds[fill[(edges[e + eTo] as number) / NF]!++] = v;
  }
}
const idom = new Int32Array(n).fill(-1);
idom[0] = 0;
const intersect = (a: number, b: number) => {
  while (a !== b) {
    while (order[a]! < order[b]!) a = idom[a]!;
    while (order[b]! < order[a]!) b = idom[b]!;
  }
  return a;
};
for (let changed = true; changed; ) {
  changed = false;
  for (let k = post.length - 2; k >= 0; k--) {
    const v = post[k]!;
    let d = -1;
    for (let p = predStart[v]!; p < predStart[v + 1]!; p++) {
      const u = preds[p]!;
      if (order[u]! < 0 || idom[u]! < 0) continue;
      d = d < 0 ? u : intersect(u, d);
    }
    if (d >= 0 && idom[v] !== d) {
      idom[v] = d;
      changed = true;
    }
  }
}
const retained = new Float64Array(n);
for (const v of post) retained[v]! += nodes[v * NF + nSize] as number;
for (const v of post) if (v !== 0 && idom[v]! >= 0) retained[idom[v]!]! += retained[v]!;

const mb = (b: number) => (b / 2 ** 20).toFixed(1);
let total = 0;
const byCtor = new Map<string, { size: number; count: number }>();
for (let i = 0; i < n; i++) {
  const size = nodes[i * NF + nSize] as number;
  total += size;
  const key = label(i).slice(0, 70);
  const entry = byCtor.get(key) ?? { size: 0, count: 0 };
  entry.size += size;
  entry.count += 1;
  byCtor.set(key, entry);
}
console.log(`${file}: ${n} nodes, self sizes ${mb(total)} MB\n\nself size by constructor:`);
for (const [k, v] of [...byCtor].sort((a, b) => b[1].size - a[1].size).slice(0, top))
  console.log(`${mb(v.size).padStart(8)} MB ${String(v.count).padStart(9)}  ${k}`);

/** The edge from `from` to `to`, named. */
const via = (from: number, to: number) => {
  for (let e = firstEdge[from]!; e < firstEdge[from + 1]!; e += EF) if ((edges[e + eTo] as number) / NF === to) return edgeLabel(e);
  return '?';
};
console.log('\nlargest retained (dominator chain, innermost first):');
const candidates = [...post].filter((v) => v !== 0 && !label(v).startsWith('(synthetic)')).sort((a, b) => retained[b]! - retained[a]!);
let shown = 0;
for (const v of candidates) {
  if (shown >= top) break;
  // Skip an object whose dominator is already listed with nearly the same size (a wrapper chain).
  const d = idom[v]!;
  if (d > 0 && retained[d]! - retained[v]! < retained[v]! * 0.02 && !label(d).startsWith('(synthetic)')) continue;
  const chain: string[] = [];
  for (let c = v, hops = 0; c > 0 && hops < 8; c = idom[c]!, hops++) chain.push(`${label(c)} .${via(idom[c]!, c)}`);
  console.log(`${mb(retained[v]!).padStart(8)} MB  ${chain.join(' ← ')}`);
  shown += 1;
}

// `--who <label prefix>`: where objects of one kind hang, grouped by their dominator chain.
const whoAt = process.argv.indexOf('--who');
if (whoAt > 0) {
  const prefix = process.argv[whoAt + 1] ?? '';
  const groups = new Map<string, { size: number; count: number }>();
  for (const v of post) {
    if (v === 0 || !label(v).startsWith(prefix)) continue;
    const chain: string[] = [];
    for (let c = v, hops = 0; c > 0 && hops < 5; c = idom[c]!, hops++) chain.push(`${label(c).slice(0, 30)}.${via(idom[c]!, c)}`);
    const key = chain.join(' ← ');
    const g = groups.get(key) ?? { size: 0, count: 0 };
    g.size += retained[v]!;
    g.count += 1;
    groups.set(key, g);
  }
  console.log(`\nwho holds "${prefix}" (retained, count, chain):`);
  for (const [k, g] of [...groups].sort((a, b) => b[1].size - a[1].size).slice(0, top))
    console.log(`${mb(g.size).padStart(8)} MB ${String(g.count).padStart(7)}  ${k}`);
}

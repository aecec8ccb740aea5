/**
 * The repository stands alone: no code comment, doc, metric help text, script or test points a reader
 * at files outside it (design notes, research digests, lab notebooks) or at tracker issue numbers
 * that a clone does not carry. What a reader needs is written in docs/ (standards.md, interop.md …).
 * This walks the tree and fails naming every file:line that does.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../support/repo-paths.js';

/** Where the project's own text lives. */
const ROOTS = ['src', 'test', 'docs', 'bench', 'scripts', 'docker', 'sip-profiles', 'examples', 'types', 'bin', '.ci', 'README.md', 'package.json', 'vitest.config.ts', 'tsconfig.json'];
const SKIP_DIRS = new Set(['node_modules', '.git', 'dist', 'data', 'coverage', '.tmp']);
const BINARY = /\.(wbxml|sqlite|png|jpg|gz|svg)$/i;
const THIS_FILE = 'test/unit/repo-stands-alone.test.ts';

/** Each pattern is a way to point outside the repository; the name says which. */
const OUTSIDE: [string, RegExp][] = [
  ['a design note outside the repository', /\bproduct\.md\b|\bstyle\.md\b/i],
  ['a research digest outside the repository', /standards-digest|peers-and-libraries|\bdigest §/i],
  ['a lab notebook outside the repository', /lab-facts/i],
  ['a path outside the repository', /\.\.\/shared\b|shared\/docs|docs\/reference\//i],
  ['a tracker issue number', /\bissues? #?\d+\b|\(issue[:#]/i],
  ['a task brief', /\bthe brief\b/i],
];

function files(path: string): string[] {
  let stat;
  try {
    stat = statSync(path);
  } catch {
    return [];
  }
  if (stat.isFile()) return BINARY.test(path) ? [] : [path];
  return readdirSync(path)
    .filter((name) => !SKIP_DIRS.has(name))
    .flatMap((name) => files(join(path, name)));
}

describe('the repository stands alone', () => {
  it('no file points at text outside the repository or at tracker issues', () => {
    const hits: string[] = [];
    const all = ROOTS.flatMap((root) => files(join(repoRoot, root)));
    expect(all.length).toBeGreaterThan(100);
    for (const file of all) {
      const rel = relative(repoRoot, file);
      if (rel === THIS_FILE) continue;
      const lines = readFileSync(file, 'utf8').split('\n');
      lines.forEach((line, index) => {
        for (const [what, pattern] of OUTSIDE) if (pattern.test(line)) hits.push(`${rel}:${index + 1}: ${what}: ${line.trim().slice(0, 120)}`);
      });
    }
    expect(hits).toEqual([]);
  });

  it('the patterns catch what they are meant to', () => {
    const caught = (text: string) => OUTSIDE.some(([, pattern]) => pattern.test(text));
    for (const text of ['see product.md §2', '(lab-facts.md)', 'standards-digest §3.5', '../shared/docs/x', 'issue #8 §4', 'issue 6 item 6', '(issue: overload)', 'deviation from the brief', 'digest §2.1']) {
      expect(caught(text), text).toBe(true);
    }
    for (const text of ['docs/standards.md §4.3', 'zod issue.path', 'the first issue', 'RFC 3261 §17.1.1', 'drachtio-server bodies']) {
      expect(caught(text), text).toBe(false);
    }
  });
});

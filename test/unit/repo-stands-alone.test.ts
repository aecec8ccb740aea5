/**
 * The repository stands alone: no code comment, doc, metric help text, script or test points a reader
 * at files outside it (design notes, research digests, lab notebooks) or at tracker issue numbers
 * that a clone does not carry. What a reader needs is written in docs/ (standards.md, interop.md …).
 * This walks the tree and fails naming every file:line that does.
 */
import { readdirSync, readFileSync, type Stats, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../support/repo-paths.js';

/** Where the project's own text lives. */
const ROOTS = [
  'src',
  'test',
  'docs',
  'bench',
  'scripts',
  'docker',
  'sip-profiles',
  'examples',
  'types',
  'bin',
  '.ci',
  'README.md',
  'package.json',
  'vitest.config.ts',
  'tsconfig.json',
];
const SKIP_DIRS = new Set(['node_modules', '.git', 'dist', 'data', 'coverage', '.tmp']);
const BINARY = /\.(wbxml|sqlite|png|jpg|gz|svg)$/i;
/**
 * The outside files are named here only in pieces joined at run time, so that this file does not itself
 * point at them and the scan needs no exception for it.
 */
const name = (...parts: string[]): string => parts.join('');
const NOTE = name('pro', 'duct'); // the design note's base name
const STYLE = name('sty', 'le');
const DIGEST = name('standards', '-digest');
const PEERS = name('peers-and', '-libraries');
const LAB = name('lab', '-facts');
const SHARED = name('sha', 'red');
const REFERENCE = name('docs/ref', 'erence/');
const DIGEST_CLAUSE = name('digest', ' §');
const ISSUE = name('iss', 'ue');
const BRIEF = name('the bri', 'ef');
/** Roots where a checkout, a home directory or a shared workspace lives: never the repository's own text. */
const WORKSPACE_ROOTS = ['wo' + 'rk', 'ho' + 'me', 'Us' + 'ers', 'ro' + 'ot', 'm' + 'nt'];

/** Each pattern is a way to point outside the repository; the name says which. */
const OUTSIDE: [string, RegExp][] = [
  ['a design note outside the repository', new RegExp(`\\b${NOTE}\\.md\\b|\\b${STYLE}\\.md\\b`, 'i')],
  ['a research digest outside the repository', new RegExp(`${DIGEST}|${PEERS}|\\b${DIGEST_CLAUSE}`, 'i')],
  ['a lab notebook outside the repository', new RegExp(LAB, 'i')],
  ['a path outside the repository', new RegExp(`\\.\\./${SHARED}\\b|${SHARED}/docs|${REFERENCE}`, 'i')],
  ['a tracker issue number', /\bissues? #?\d+\b|\(issue[:#]/i],
  ['a task brief', /\bthe brief\b/i],
  [
    'an absolute path into a workspace or home directory',
    new RegExp(`(?:^|[\\s\`'"(<\\[])(?:/(?:${WORKSPACE_ROOTS.join('|')})/|~/|[A-Z]:\\\\)`),
  ],
];

/**
 * A relative path that climbs out of the repository: more `../` in one run than the file is deep
 * (`test/unit/x.ts` may go up two levels, to the root, and no further).
 */
function climbsOut(rel: string, line: string): boolean {
  const depth = rel.split('/').length - 1;
  for (const run of line.match(/(?:\.\.\/)+/g) ?? []) if (run.length / 3 > depth) return true;
  return false;
}

function files(path: string): string[] {
  let stat: Stats;
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
      const lines = readFileSync(file, 'utf8').split('\n');
      lines.forEach((line, index) => {
        for (const [what, pattern] of OUTSIDE)
          if (pattern.test(line)) hits.push(`${rel}:${index + 1}: ${what}: ${line.trim().slice(0, 120)}`);
        if (climbsOut(rel, line)) hits.push(`${rel}:${index + 1}: a relative path out of the repository: ${line.trim().slice(0, 120)}`);
      });
    }
    expect(hits).toEqual([]);
  });

  it('the patterns catch what they are meant to', () => {
    const caught = (text: string) => OUTSIDE.some(([, pattern]) => pattern.test(text));
    for (const text of [
      `see ${NOTE}.md §2`,
      `(${LAB}.md)`,
      `${DIGEST} §3.5`,
      `../${SHARED}/docs/x`,
      `${PEERS} §B`,
      `${STYLE}.md`,
      `${ISSUE} #8 §4`,
      `${ISSUE} 6 item 6`,
      `(${ISSUE}: overload)`,
      `deviation from ${BRIEF}`,
      `${DIGEST_CLAUSE}2.1`,
      `// see /${WORKSPACE_ROOTS[0]}/notes/design.md`,
      ` * (/${WORKSPACE_ROOTS[1]}/someone/lab.txt)`,
      `\`/${WORKSPACE_ROOTS[2]}/me/x\``,
      `# ${'~'}/notes.md`,
      `${'C'}:\\notes\\x.md`,
    ]) {
      expect(caught(text), text).toBe(true);
    }
    for (const text of [
      'docs/standards.md §4.3',
      'zod issue.path',
      'the first issue',
      'RFC 3261 §17.1.1',
      'drachtio-server bodies',
      'GET /admin/users/:aor',
      'SYSTEM "file:///etc/passwd"',
      'unix:/tmp/kam/ctl.sock',
      'src/home/page.ts',
    ]) {
      expect(caught(text), text).toBe(false);
    }
  });

  it('a relative path may climb to the root of the repository, never beyond it', () => {
    expect(climbsOut('test/unit/x.ts', "import { a } from '../../src/a.js';")).toBe(false);
    expect(climbsOut('test/unit/x.ts', `// see ${'../'.repeat(3)}notes.md`)).toBe(true);
    expect(climbsOut('README.md', '[x](../x.md)')).toBe(true);
    expect(climbsOut('docs/a.md', '[x](../README.md)')).toBe(false);
    expect(climbsOut('docs/a.md', '[x](../../x.md)')).toBe(true);
  });
});

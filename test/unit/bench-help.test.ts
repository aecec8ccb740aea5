/**
 * `npm run bench -- --help` prints the usage and starts nothing (it used to begin a full benchmark run:
 * Kamailio, SIPp and agents for minutes). A mistyped flag does the same, with exit 64.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../support/repo-paths.js';

const bench = (args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', 'bench/run.ts', ...args], { cwd: repoRoot, encoding: 'utf8', timeout: 50_000 });

describe('bench command line', () => {
  it('--help prints the usage, exits 0 and starts no run', () => {
    const run = bench(['--help']);
    expect(run.signal).toBeNull();
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^Usage: npm run bench -- /);
    expect(run.stdout).not.toMatch(/kamailio \d|##/i);
  });

  it('an unknown option prints the usage and exits 64', () => {
    const run = bench(['--ful']);
    expect(run.status).toBe(64);
    expect(run.stderr).toContain('bench: unknown option --ful');
  });
});

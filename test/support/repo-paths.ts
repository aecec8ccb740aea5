/** Paths inside the repository, independent of the test's working directory. */
import { fileURLToPath } from 'node:url';
import { dirname, isAbsolute, resolve } from 'node:path';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';

/** Absolute path of the repository root (this file lives in test/support/). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Resolve a repo-relative path (e.g. `test/sipp/register.xml`); absolute paths pass through. */
export function repoPath(path: string): string {
  return isAbsolute(path) ? path : resolve(repoRoot, path);
}

/** A fresh private directory under the OS temp dir, e.g. for runtime files and traces. */
export function makeTempDir(prefix: string): string {
  return mkdtempSync(resolve(tmpdir(), `spa-${prefix}-`));
}

#!/usr/bin/env node
// `npm start` runs the compiled agent (dist/), so it first compiles src/ with tsc when dist/ is missing
// or older than any source file. A no-op run of tsc costs 5-15 s of CPU; a timestamp check costs none.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const stamp = join('dist', '.build-stamp');

/** Newest modification time (ms) of the files under `path`. */
function newest(path) {
  const info = statSync(path);
  if (!info.isDirectory()) return info.mtimeMs;
  return readdirSync(path).reduce((max, name) => Math.max(max, newest(join(path, name))), 0);
}

const inputs = ['src', 'types', 'tsconfig.json', 'tsconfig.build.json', 'package-lock.json'].filter((p) => existsSync(p));
const built = existsSync(stamp) && existsSync(join('dist', 'cli.js')) ? statSync(stamp).mtimeMs : 0;
if (inputs.some((p) => newest(p) > built)) {
  console.error('build: compiling src/ to dist/ (tsc -p tsconfig.build.json)');
  execFileSync(process.execPath, [join('node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
  writeFileSync(stamp, `${new Date().toISOString()}\n`);
}

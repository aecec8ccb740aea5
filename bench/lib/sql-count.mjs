/**
 * Bench-only preload (`node --import <this file> …`): counts the SQL the process runs through
 * better-sqlite3, without touching the agent's sources, so the same counter measures any checkout.
 *
 * Every executed prepared statement (`run`, `get`, `all`, `iterate`) is counted and classified by its
 * SQL text; `transaction()` wrappers run their BEGIN/COMMIT/SAVEPOINT/RELEASE as prepared statements
 * too, so they are counted the same way. `exec()` is counted per call, and its text classified
 * (a multi-statement `exec` counts once, classified by its first keyword). Commits are top-level
 * COMMITs (prepared or exec'd) and writes run outside a transaction (SQLite commits each on its own):
 * the ones that reach the disk.
 *
 * On SIGUSR2 the totals are written to `<tmpdir>/spa-sql-count-<pid>.json` (written to a temporary
 * name, then renamed, so a reader never sees half a file), with `process.memoryUsage()`; when the file
 * `<same name>.gc` exists and the process runs with `--expose-gc`, a full collection runs first (so a
 * heap figure is live data, not garbage). better-sqlite3 is resolved from the process's working
 * directory, the checkout under test.
 */
import { existsSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const counts = {
  statements: 0,
  reads: 0,
  writes: 0,
  other: 0,
  begin: 0,
  commit: 0,
  rollback: 0,
  savepoint: 0,
  release: 0,
  exec: 0,
};

function classify(sql) {
  const head = /^\s*([A-Za-z]+)/.exec(sql)?.[1]?.toUpperCase() ?? '';
  counts.statements += 1;
  switch (head) {
    case 'SELECT':
    case 'WITH':
    case 'PRAGMA':
      counts.reads += 1;
      return;
    case 'INSERT':
    case 'UPDATE':
    case 'DELETE':
    case 'REPLACE':
      counts.writes += 1;
      return;
    case 'BEGIN':
      counts.begin += 1;
      return;
    case 'COMMIT':
    case 'END':
      counts.commit += 1;
      return;
    case 'ROLLBACK':
      counts.rollback += 1;
      return;
    case 'SAVEPOINT':
      counts.savepoint += 1;
      return;
    case 'RELEASE':
      counts.release += 1;
      return;
    default:
      counts.other += 1;
  }
}

const require = createRequire(join(process.cwd(), 'package.json'));
const Database = require('better-sqlite3');

// The Statement class is native and not exported: take its prototype from a throwaway statement.
const probe = new Database(':memory:');
const statementProto = Object.getPrototypeOf(probe.prepare('SELECT 1'));
probe.close();
for (const method of ['run', 'get', 'all', 'iterate']) {
  const original = statementProto[method];
  statementProto[method] = function counted(...args) {
    classify(this.source);
    // A write outside BEGIN … COMMIT commits by itself (autocommit): one commit, one fsync at FULL.
    if (!this.database.inTransaction && /^\s*(INSERT|UPDATE|DELETE|REPLACE)\b/i.test(this.source)) counts.commit += 1;
    return original.apply(this, args);
  };
}
const originalExec = Database.prototype.exec;
Database.prototype.exec = function countedExec(sql) {
  counts.exec += 1;
  classify(String(sql));
  return originalExec.call(this, sql);
};

process.on('SIGUSR2', () => {
  const file = join(tmpdir(), `spa-sql-count-${process.pid}.json`);
  if (existsSync(`${file}.gc`)) {
    rmSync(`${file}.gc`, { force: true });
    globalThis.gc?.();
  }
  const { rss, heapUsed } = process.memoryUsage();
  writeFileSync(`${file}.tmp`, JSON.stringify({ ...counts, rss, heapUsed, atMs: Date.now() }));
  renameSync(`${file}.tmp`, file);
});

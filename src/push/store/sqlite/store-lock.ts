/**
 * One writer per store: an exclusive lock held for the agent's lifetime on `<store>.lock`, a small
 * SQLite file of its own. SQLite with `locking_mode=EXCLUSIVE` takes a POSIX advisory lock (fcntl) on it
 * and keeps it until the connection closes, so the operating system releases it when the process dies,
 * even on SIGKILL: no stale lock to clean up and no pid-reuse guesswork (Node has no flock). A second
 * agent — another process, or a second start inside one process — gets SQLITE_BUSY at once and is
 * refused before it has read or changed anything in the push store. The push store itself keeps its
 * normal WAL locking, so read-only tools can still inspect it.
 */
import BetterSqlite3 from 'better-sqlite3';
import { AgentError, ErrorCodes } from '../../../errors.js';

export interface StoreLock {
  readonly path: string;
  release(): void;
}

/**
 * Takes the lock for the store at `storePath` (nothing for `:memory:`).
 * @throws AgentError `STORE_LOCKED` naming the lock file when another agent holds it
 */
export function acquireStoreLock(storePath: string): StoreLock {
  const path = `${storePath}.lock`;
  if (storePath === ':memory:') return { path, release: () => undefined };
  let db: BetterSqlite3.Database | undefined;
  try {
    db = new BetterSqlite3(path);
    db.pragma('busy_timeout = 0');
    db.pragma('locking_mode = EXCLUSIVE');
    // A write makes the lock exclusive now (not at the first write) and records who holds it.
    db.exec(
      'BEGIN EXCLUSIVE; CREATE TABLE IF NOT EXISTS holder (pid INTEGER NOT NULL, since INTEGER NOT NULL); ' +
        `DELETE FROM holder; INSERT INTO holder VALUES (${process.pid}, ${Date.now()}); COMMIT;`,
    );
  } catch (err) {
    db?.close();
    const busy = (err as { code?: unknown }).code === 'SQLITE_BUSY';
    throw new AgentError(
      ErrorCodes.STORE_LOCKED,
      busy
        ? `push store ${storePath} is in use by another running agent (lock ${path} is held); one agent per store.path`
        : `cannot lock push store ${storePath} (${path}): ${(err as Error).message}`,
      'store.path',
      { cause: err },
    );
  }
  const held = db;
  return {
    path,
    release: () => {
      if (held.open) held.close();
    },
  };
}

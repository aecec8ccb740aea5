/**
 * `/readyz` checks: SIP engine connected, store open and taking writes, intake accepting. Each check asks
 * the part itself, so a closed database or a stopped engine turns readiness off at once.
 */
export interface ReadinessSources {
  engine: { readonly connected: boolean };
  /** Any cheap call that throws once the database is closed (better-sqlite3 refuses closed handles). */
  store: { sqliteSettings(): unknown };
  pushes: { readonly isAccepting: boolean; readonly storeWritable: boolean };
}

/** True when the store answers a query (a PRAGMA read, no table scan). */
export function storeIsOpen(store: ReadinessSources['store']): boolean {
  try {
    store.sqliteSettings();
    return true;
  } catch {
    return false;
  }
}

export function readinessChecks(sources: ReadinessSources): () => Record<string, boolean> {
  return () => ({
    sipEngine: sources.engine.connected,
    store: storeIsOpen(sources.store),
    // A full or failing disk: outcomes are held in memory (bounded) and intake answers 4001.
    storeWritable: sources.pushes.storeWritable,
    intake: sources.pushes.isAccepting,
  });
}

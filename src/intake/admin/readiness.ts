/**
 * `/readyz` checks: SIP engine connected, SIP core alive (core-health probes), store open and taking
 * writes, intake accepting. Each check asks the part itself, so a closed database, a full disk, a stopped
 * engine or a core that stopped answering turns readiness off at once. The core check is named after the
 * core it probes.
 */
export interface ReadinessSources {
  engine: { readonly connected: boolean };
  /**
   * The push store: its own answer (`isOpen`: PostgreSQL's latest probe write committed), or any cheap
   * call that throws once the database is closed (better-sqlite3 refuses closed handles).
   */
  store: { isOpen(): boolean } | { sqliteSettings(): unknown };
  pushes: { readonly isAccepting: boolean; readonly storeWritable: boolean };
  /** Absent → no core check (tests that build the HTTP server by hand). */
  coreHealth?: { readonly state: 'unknown' | 'up' | 'down'; readonly target: string };
}

/** True when the store answers a query (a PRAGMA read, no table scan). */
export function storeIsOpen(store: ReadinessSources['store']): boolean {
  if ('isOpen' in store) return store.isOpen();
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
    // `sipCore:udp:127.0.0.1:5060`: names the core. Unknown (no probe answered or failed yet) is not down.
    ...(sources.coreHealth && { [`sipCore:${sources.coreHealth.target}`]: sources.coreHealth.state !== 'down' }),
  });
}

/**
 * A pooled connection held for a transaction. While the pool holds a connection it listens for its
 * errors; once checked out, nobody does — and node-postgres emits a connection error that arrives between
 * two statements (no query running to hand it to) as an `'error'` event on the client. PostgreSQL sends
 * exactly that to every backend on a fast shutdown or a failover ("terminating connection due to
 * administrator command", then the socket resets): unheard, it is an uncaught exception and the agent
 * dies with the database. So a held connection listens too; an error marks it broken, the statement
 * that runs next fails (and is reported as the store's error), and the connection is destroyed on release.
 */
import type { Pool, PoolClient } from 'pg';

export interface HeldClient {
  readonly client: PoolClient;
  /** Give the connection back; destroyed when it failed while held or `destroy` is set. */
  release(destroy?: boolean): void;
}

export async function checkout(pool: Pool): Promise<HeldClient> {
  const client = await pool.connect();
  let broken = false;
  const onError = () => {
    broken = true;
  };
  client.on('error', onError);
  return {
    client,
    release(destroy = false) {
      client.off('error', onError);
      client.release(broken || destroy);
    },
  };
}

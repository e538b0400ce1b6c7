// The pg pool of a PostgreSQL database, with clients that can never crash the process.
//
// A pg client emits 'error' when its connection dies while no query is running on it (a
// terminated backend, a server restart). pg-pool listens on idle clients only; a client checked
// out between two queries (a transaction's, Prisma's, ours) has whatever listener its holder
// added, and an 'error' event nobody hears is thrown as an uncaught exception: one killed
// backend could take the whole gateway down. `caf0ffd` guarded the write transactions; a fault
// test still caught one elsewhere, once in several runs. So every client gets a listener for
// its whole life here. Nothing is lost by it: the client is marked unusable by pg itself, its
// next query fails with "not queryable" (a database-unavailable error, db/errors.ts: 503), and
// pg-pool discards it when it is released.
import pg from 'pg';

class PooledClient extends pg.Client {
  constructor(config?: string | pg.ClientConfig) {
    super(config);
    this.on('error', () => {});
  }
}

export function openPool(config: pg.PoolConfig): pg.Pool {
  const pool = new pg.Pool({ ...config, Client: PooledClient });
  // An idle client losing its connection: the pool drops it and opens a fresh one for the next request.
  pool.on('error', () => {});
  return pool;
}

// The conditions the event log's readers must stand up to in the plan tests: a long log, and a
// transaction held open elsewhere in the cluster.
import pg from 'pg';
import type { Database } from '../../src/db/client.js';
import { parseSnapshot, type PgSnapshot } from '../../src/events/snapshot.js';
import { onPostgres } from './db.js';

/** `n` events of a customer in one transaction (the log's length, not real changes). */
export function bulkEvents(db: Database, orgId: string, customerId: string, n: number): Promise<number> {
  return db.prisma.$executeRaw`
    INSERT INTO customer_events (org_id, customer_id, kind, snapshot, actor_kind)
    SELECT ${orgId}::uuid, ${customerId}::uuid, 'UPDATED', '{}'::jsonb, 'SYSTEM' FROM generate_series(1, ${n})`;
}

/** The database's current snapshot (what a reader's statement would see now). */
export async function currentSnapshot(db: Database): Promise<PgSnapshot> {
  const [row] = await db.prisma.$queryRaw<{ snap: string }[]>`SELECT pg_current_snapshot()::text AS snap`;
  return parseSnapshot(row!.snap);
}

/**
 * On PostgreSQL, a transaction with an xid held open on another connection (a report, a
 * pg_dump, a psql session left open): it holds back the xmin of every snapshot taken in the
 * cluster, any database, for as long as it runs. Returns its release.
 */
export async function holdOldTransaction(url: string | undefined): Promise<() => Promise<void>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query('BEGIN');
  await client.query('SELECT pg_current_xact_id()');
  return async () => {
    await client.query('ROLLBACK');
    await client.end();
  };
}

/** The cases of a plan test: on PostgreSQL also with an old transaction open elsewhere. */
export const OLD_TRANSACTION = onPostgres ? ([false, true] as const) : ([false] as const);

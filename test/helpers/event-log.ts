// The conditions the event log's readers must stand up to in the plan tests: a long log with
// statistics taken before it grew, and a transaction held open elsewhere in the cluster; and the
// check that what a reader reads follows the events it must find.
import pg from 'pg';
import { expect, onTestFinished } from 'vitest';
import type { Database } from '../../src/db/client.js';
import { parseSnapshot, type PgSnapshot } from '../../src/events/snapshot.js';
import type { Prisma } from '../../src/generated/prisma/client.js';
import { seedCustomer } from './customers.js';
import { onPostgres } from './db.js';
import type { GatewayFixture } from './fixture.js';
import { explainRolledBack, planOutline, rowsRead, type PlanCacheMode } from './plan.js';

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

/** Events behind a reader in the plan tests: the log's length, not the work. */
const LONG_LOG = 20_000;

/**
 * A customer of a fresh organisation with a log of 20,000 events, taken in one transaction after
 * the statistics (which so say the log is short); with `old`, a transaction held open elsewhere
 * since before the log grew, until the test ends.
 */
export async function longLogBehindStaleStatistics(ctx: GatewayFixture, old: boolean): Promise<{ orgId: string; customerId: string }> {
  if (old) onTestFinished(await holdOldTransaction(ctx.t.url));
  const { orgId } = await ctx.org();
  const c = await seedCustomer(ctx.db, orgId);
  await ctx.db.prisma.$executeRawUnsafe('ANALYZE customer_events');
  await bulkEvents(ctx.db, orgId, c.id, LONG_LOG);
  return { orgId, customerId: c.id };
}

/**
 * What `statement` reads of the log, for each statistics (stale: taken before the log grew;
 * fresh) and each plan (made with the values, as sent; as a prepared statement's generic plan,
 * made without them; as its custom plan): checked against the `events` it must find, with room
 * for a few neighbours of a range's ends, never the log behind it.
 */
export async function expectReadsFollowWork(
  db: Database,
  statement: () => Prisma.Sql | Promise<Prisma.Sql>,
  events: number,
): Promise<void> {
  for (const stats of ['stale', 'fresh'] as const) {
    if (stats === 'fresh') await db.prisma.$executeRawUnsafe('ANALYZE customer_events');
    for (const mode of [undefined, 'force_generic_plan', 'force_custom_plan'] satisfies (PlanCacheMode | undefined)[]) {
      const plan = await explainRolledBack(db.prisma, await statement(), mode);
      const read = rowsRead(plan, 'customer_events');
      const why = `${stats} statistics, ${mode ?? 'as sent'}:\n${planOutline(plan)}`;
      expect(read, why).toBeGreaterThanOrEqual(events);
      expect(read, why).toBeLessThanOrEqual(events + 7);
    }
  }
}

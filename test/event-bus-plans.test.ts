// The plans of the event bus's statements, read with EXPLAIN ANALYZE: what they read must follow
// the events they hand out, not the length of the log (kept forever by default, SPEC 11), whatever
// the planner's statistics, whichever plan, and while a transaction elsewhere in the cluster holds
// every snapshot's xmin back.
// - The fetch runs at every commit's wake-up of every instance, for all organisations.
// - A replay page runs for each resumed subscription (a reconnecting dashboard).
import { describe, expect, it, onTestFinished } from 'vitest';
import { busFetchStatement, normaliseFilter, replayPageStatement } from '../src/events/bus.js';
import type { Prisma } from '../src/generated/prisma/client.js';
import { moveKyc, seedCustomer } from './helpers/customers.js';
import { dbKind } from './helpers/db.js';
import { bulkEvents, currentSnapshot, holdOldTransaction, OLD_TRANSACTION } from './helpers/event-log.js';
import { useGateway } from './helpers/fixture.js';
import { explainRolledBack, planOutline, rowsRead, type PlanCacheMode } from './helpers/plan.js';

const ctx = useGateway();

/**
 * What `statement` reads of the log, for each statistics (stale: taken before the log grew;
 * fresh) and each plan (made with the values, as sent; made without them, as a prepared
 * statement's generic plan): checked against the `events` it must find, with room for a few
 * neighbours of a range's ends.
 */
async function expectReadsFollowWork(statement: () => Prisma.Sql, events: number): Promise<void> {
  for (const stats of ['stale', 'fresh'] as const) {
    if (stats === 'fresh') await ctx.db.prisma.$executeRawUnsafe('ANALYZE customer_events');
    for (const mode of [undefined, 'force_generic_plan'] satisfies (PlanCacheMode | undefined)[]) {
      const plan = await explainRolledBack(ctx.db.prisma, statement(), mode);
      const read = rowsRead(plan, 'customer_events');
      const why = `${stats} statistics, ${mode ?? 'as sent'}:\n${planOutline(plan)}`;
      expect(read, why).toBeGreaterThanOrEqual(events);
      expect(read, why).toBeLessThanOrEqual(events + 7);
    }
  }
}

describe(`the event bus's statements (${dbKind})`, () => {
  it.each(OLD_TRANSACTION)(
    "a wake-up's fetch reads only the events committed since the bus's snapshot, however long the log (a transaction open elsewhere since before the log grew: %s)",
    async (old) => {
      if (old) onTestFinished(await holdOldTransaction(ctx.t.url));
      const { orgId } = await ctx.org();
      const c = await seedCustomer(ctx.db, orgId);
      await ctx.db.prisma.$executeRawUnsafe('ANALYZE customer_events');
      await bulkEvents(ctx.db, orgId, c.id, 20_000);
      const head = await currentSnapshot(ctx.db);
      for (const to of ['PENDING', 'IN_PROGRESS', 'FAILED'] as const) await moveKyc(ctx.db, orgId, c.id, to);
      await expectReadsFollowWork(() => busFetchStatement(head), 3);
    },
  );

  it.each(OLD_TRANSACTION)(
    "a resumed subscription's replay reads only the events after its cursor, however long the organisation's log (a transaction open elsewhere since before the log grew: %s)",
    async (old) => {
      if (old) onTestFinished(await holdOldTransaction(ctx.t.url));
      const { orgId } = await ctx.org();
      const c = await seedCustomer(ctx.db, orgId);
      await ctx.db.prisma.$executeRawUnsafe('ANALYZE customer_events');
      await bulkEvents(ctx.db, orgId, c.id, 20_000);
      // The cursor of the first of three moves, in the batch (prev, next] a bus would have read.
      const prev = await currentSnapshot(ctx.db);
      await moveKyc(ctx.db, orgId, c.id, 'PENDING');
      const next = await currentSnapshot(ctx.db);
      const [first] = await ctx.db.prisma.$queryRaw<{ id: bigint }[]>`
        SELECT max(id) AS id FROM customer_events WHERE customer_id = ${c.id}::uuid`;
      const cursor = { prev, next, id: first!.id, at: Date.now() };
      for (const to of ['IN_PROGRESS', 'FAILED'] as const) await moveKyc(ctx.db, orgId, c.id, to);
      const until = await currentSnapshot(ctx.db);
      // The page reads the three moves (the first is the cursor's own, dropped by its id).
      await expectReadsFollowWork(() => replayPageStatement(orgId, normaliseFilter({}), cursor, until, { group: 0, id: cursor.id }), 3);
    },
  );
});

// The plans of the event bus's statements, read with EXPLAIN ANALYZE: what they read must follow
// the events they hand out, not the length of the log (kept forever by default, SPEC 11), whatever
// the planner's statistics, whichever plan, and while a transaction elsewhere in the cluster holds
// every snapshot's xmin back.
// - The fetch runs at every commit's wake-up of every instance, for all organisations.
// - A replay page runs for each resumed subscription (a reconnecting dashboard).
import { describe, it } from 'vitest';
import { busFetchStatement, normaliseFilter, replayPageStatement } from '../src/events/bus.js';
import { moveKyc } from './helpers/customers.js';
import { dbKind } from './helpers/db.js';
import { currentSnapshot, expectReadsFollowWork, longLogBehindStaleStatistics, OLD_TRANSACTION } from './helpers/event-log.js';
import { useGateway } from './helpers/fixture.js';

const ctx = useGateway();

describe(`the event bus's statements (${dbKind})`, () => {
  it.each(OLD_TRANSACTION)(
    "a wake-up's fetch reads only the events committed since the bus's snapshot, however long the log (a transaction open elsewhere since before the log grew: %s)",
    async (old) => {
      const { orgId, customerId } = await longLogBehindStaleStatistics(ctx, old);
      const head = await currentSnapshot(ctx.db);
      for (const to of ['PENDING', 'IN_PROGRESS', 'FAILED'] as const) await moveKyc(ctx.db, orgId, customerId, to);
      await expectReadsFollowWork(ctx.db, () => busFetchStatement(head), 3);
    },
  );

  it.each(OLD_TRANSACTION)(
    "a resumed subscription's replay reads only the events after its cursor, however long the organisation's log (a transaction open elsewhere since before the log grew: %s)",
    async (old) => {
      const { orgId, customerId } = await longLogBehindStaleStatistics(ctx, old);
      // The cursor of the first of three moves, in the batch (prev, next] a bus would have read.
      const prev = await currentSnapshot(ctx.db);
      await moveKyc(ctx.db, orgId, customerId, 'PENDING');
      const next = await currentSnapshot(ctx.db);
      const [first] = await ctx.db.prisma.$queryRaw<{ id: bigint }[]>`
        SELECT max(id) AS id FROM customer_events WHERE customer_id = ${customerId}::uuid`;
      const cursor = { prev, next, id: first!.id, at: Date.now() };
      for (const to of ['IN_PROGRESS', 'FAILED'] as const) await moveKyc(ctx.db, orgId, customerId, to);
      const until = await currentSnapshot(ctx.db);
      // The page reads the three moves (the first is the cursor's own, dropped by its id).
      await expectReadsFollowWork(
        ctx.db,
        () => replayPageStatement(orgId, normaliseFilter({}), cursor, until, { group: 0, id: cursor.id }),
        3,
      );
    },
  );
});

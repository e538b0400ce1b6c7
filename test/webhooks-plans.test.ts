// The plans of the webhook sender's statements, read with EXPLAIN ANALYZE: what they read must
// follow the work they do, not the length of a table, whatever the planner's statistics say and
// whichever plan a prepared statement keeps.
// - The fan-out runs at every commit's wake-up (every 100 ms under writes, every second when
//   idle), with or without endpoints, over an event log kept forever by default (SPEC 11).
// - The record of a batch runs once per batch of up to 100 deliveries while an endpoint keeps up.
// And the fan-out's rule for a cursor another instance moved after this one read it.
import { describe, expect, it } from 'vitest';
import { WebhookEventType } from '../src/webhooks/event-types.js';
import { claimBatches, fanOut, fanOutStatement, readCursor, recordBatchStatement } from '../src/webhooks/queue.js';
import { moveKyc, seedCustomer } from './helpers/customers.js';
import { dbKind } from './helpers/db.js';
import { bulkEvents, expectReadsFollowWork, longLogBehindStaleStatistics, OLD_TRANSACTION } from './helpers/event-log.js';
import { useGateway } from './helpers/fixture.js';
import { explainRolledBack, planOutline, rowsRead } from './helpers/plan.js';
import { createEndpoint } from './helpers/webhooks.js';

// The file's gateway has no sender (WEBHOOK_CONCURRENCY=0): the test runs the statements itself.
const ctx = useGateway();

/** Runs fan-outs until one held the cursor: every event committed before is then behind it. */
async function catchUp(): Promise<void> {
  for (let i = 0; i < 50; i++) {
    if ((await fanOut(ctx.db.statements, new Date())).locked) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error('the fan-out cursor stayed locked');
}

describe(`the webhook sender's statements (${dbKind})`, () => {
  it.each(OLD_TRANSACTION)(
    'the fan-out reads only the events since its cursor, however long the log, with statistics stale or fresh, generic plan or custom (a transaction open elsewhere since before the log grew: %s)',
    async (old) => {
      const { orgId, customerId } = await longLogBehindStaleStatistics(ctx, old);
      await catchUp();
      // Three events after the cursor, each in its own transaction.
      for (const to of ['PENDING', 'IN_PROGRESS', 'FAILED'] as const) await moveKyc(ctx.db, orgId, customerId, to);
      await expectReadsFollowWork(ctx.db, async () => fanOutStatement(new Date(), await readCursor(ctx.db.statements)), 3);
    },
  );

  it('a fan-out whose cursor another instance moved after it read it does nothing: each event is queued once, by one fan-out', async () => {
    const { orgId } = await ctx.org();
    // Never sent to: this file's gateway has no sender.
    const { id: endpointId } = await createEndpoint(ctx.gw.services, orgId, 'https://hooks.example.com/in', [
      WebhookEventType.KycStatusChanged,
    ]);
    const c = await seedCustomer(ctx.db, orgId);
    await catchUp();
    for (const to of ['PENDING', 'IN_PROGRESS'] as const) {
      const read = await readCursor(ctx.db.statements);
      await moveKyc(ctx.db, orgId, c.id, to);
      // Another instance's fan-out, between this one's read and its statement.
      expect(await fanOut(ctx.db.statements, new Date())).toEqual({ locked: true, events: 1, queued: 1 });
      const [late] = await ctx.db.statements.$queryRaw<{ locked: number; events: number; queued: number }[]>(
        fanOutStatement(new Date(), read),
      );
      expect(late).toMatchObject({ locked: 0, events: 0, queued: 0 });
    }
    const queued = await ctx.db.prisma.webhookDelivery.findMany({ where: { endpointId }, select: { customerEventId: true } });
    expect(queued).toHaveLength(2);
    expect(new Set(queued.map((d) => d.customerEventId)).size).toBe(2);
  });

  it("the record of a batch finds its deliveries by id and its endpoint once, not by walking the endpoint's backlog or once per delivery", async () => {
    const { orgId } = await ctx.org();
    // Never sent to: this file's gateway has no sender.
    const { id: endpointId } = await createEndpoint(ctx.gw.services, orgId, 'https://hooks.example.com/in', [
      WebhookEventType.CustomerUpdated,
    ]);
    const c = await seedCustomer(ctx.db, orgId);
    // Statistics taken before the backlog, of a table emptied by deletes (as by the purge): its
    // pages stay and hold no live row, so the planner estimates any read of it at one row. Then
    // a backlog of 3,000.
    await bulkEvents(ctx.db, orgId, c.id, 100);
    await catchUp();
    await ctx.db.prisma.webhookDelivery.deleteMany({});
    await ctx.db.prisma.$executeRawUnsafe('ANALYZE webhook_deliveries');
    const backlog = 3000;
    const size = 50;
    await bulkEvents(ctx.db, orgId, c.id, backlog);
    await catchUp();
    const now = new Date();
    const leaseUntil = new Date(now.getTime() + 60_000);
    const [batch] = await claimBatches(ctx.db.statements, 'plan-test', now, leaseUntil, 1, size);
    expect(batch?.endpointId).toBe(endpointId);
    expect(batch!.items).toHaveLength(size);
    const sent = batch!.items.map((i) => ({ deliveryId: i.deliveryId, startedAt: now, statusCode: 204 }));
    const count = async (table: string) =>
      Number((await ctx.db.prisma.$queryRawUnsafe<{ n: bigint }[]>(`SELECT count(*) AS n FROM ${table}`))[0]!.n);
    const [endpoints, deliveries] = [await count('webhook_endpoints'), await count('webhook_deliveries')];
    const plan = await explainRolledBack(ctx.db.prisma, recordBatchStatement('plan-test', batch!, sent, [], now, { leaseUntil, size }));
    // A few lookups of the endpoint (the next batch's check, the lease), each reading at most
    // the table: not one per delivery of the batch.
    expect(rowsRead(plan, 'webhook_endpoints'), planOutline(plan)).toBeLessThanOrEqual(3 * endpoints);
    // The batch's deliveries by id (or one pass over the table, when the planner finds that
    // cheaper), the next batch, and nothing for the failures' update when nothing failed: not the
    // endpoint's whole backlog once for the successes and once more for the failures.
    expect(rowsRead(plan, 'webhook_deliveries'), planOutline(plan)).toBeLessThanOrEqual(deliveries + 4 * size);
    expect(deliveries).toBeGreaterThanOrEqual(backlog);
  });
});

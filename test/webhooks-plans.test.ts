// The plans of the webhook sender's statements, read with EXPLAIN ANALYZE: what they read must
// follow the work they do, not the length of a table, whatever the planner's statistics say and
// whichever plan a prepared statement keeps.
// - The fan-out runs at every commit's wake-up (every 100 ms under writes, every second when
//   idle), with or without endpoints, over an event log kept forever by default (SPEC 11).
// - The record of a batch runs once per batch of up to 100 deliveries while an endpoint keeps up.
import { describe, expect, it, onTestFinished } from 'vitest';
import type { Prisma } from '../src/generated/prisma/client.js';
import { WebhookEventType } from '../src/webhooks/event-types.js';
import { claimBatches, fanOut, fanOutStatement, readCursor, recordBatchStatement } from '../src/webhooks/queue.js';
import { moveKyc, seedCustomer } from './helpers/customers.js';
import { dbKind } from './helpers/db.js';
import { bulkEvents, holdOldTransaction, OLD_TRANSACTION } from './helpers/event-log.js';
import { useGateway } from './helpers/fixture.js';
import { explainRolledBack, planOutline, rowsRead, type PlanCacheMode } from './helpers/plan.js';
import { createEndpoint } from './helpers/webhooks.js';

// The file's gateway has no sender (WEBHOOK_CONCURRENCY=0): the test runs the statements itself.
const ctx = useGateway();

const explain = (statement: Prisma.Sql, prepared?: PlanCacheMode) => explainRolledBack(ctx.db.prisma, statement, prepared);

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
      if (old) onTestFinished(await holdOldTransaction(ctx.t.url));
      const { orgId } = await ctx.org();
      const c = await seedCustomer(ctx.db, orgId);
      // Statistics taken while the log was short; then a long log, behind the cursor.
      await ctx.db.prisma.$executeRawUnsafe('ANALYZE customer_events');
      await bulkEvents(ctx.db, orgId, c.id, 20_000);
      await catchUp();
      // Three events after the cursor, each in its own transaction.
      for (const to of ['PENDING', 'IN_PROGRESS', 'FAILED'] as const) await moveKyc(ctx.db, orgId, c.id, to);

      for (const stats of ['stale', 'fresh'] as const) {
        if (stats === 'fresh') await ctx.db.prisma.$executeRawUnsafe('ANALYZE customer_events');
        for (const mode of ['force_generic_plan', 'force_custom_plan'] as const) {
          const plan = await explain(fanOutStatement(new Date(), await readCursor(ctx.db.statements)), mode);
          const read = rowsRead(plan, 'customer_events');
          // The three new events (and at most a few neighbours of the range's ends), not 20,000.
          expect(read, `${stats} statistics, ${mode}:\n${planOutline(plan)}`).toBeGreaterThanOrEqual(3);
          expect(read, `${stats} statistics, ${mode}:\n${planOutline(plan)}`).toBeLessThanOrEqual(10);
        }
      }
    },
  );

  it("the record of a batch finds its deliveries by id and its endpoint once, not by walking the endpoint's backlog or once per delivery", async () => {
    const { orgId } = await ctx.org();
    // Never sent to: this file's gateway has no sender.
    const { id: endpointId } = await createEndpoint(ctx.gw.services, orgId, 'https://hooks.example.com/in', [
      WebhookEventType.CustomerUpdated,
    ]);
    const c = await seedCustomer(ctx.db, orgId);
    // Statistics taken before the backlog (a table that looks empty), then a backlog of 3,000.
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
    const plan = await explain(recordBatchStatement('plan-test', batch!, sent, [], now, { leaseUntil, size }));
    // A few lookups of the endpoint (the next batch's check, the lease), each reading at most
    // the table: not one per delivery of the batch.
    expect(rowsRead(plan, 'webhook_endpoints')).toBeLessThanOrEqual(3 * endpoints);
    // The batch's deliveries by id (or one pass over the table, when the planner finds that
    // cheaper), the next batch, and nothing for the failures' update when nothing failed: not the
    // endpoint's whole backlog once for the successes and once more for the failures.
    expect(rowsRead(plan, 'webhook_deliveries')).toBeLessThanOrEqual(deliveries + 4 * size);
    expect(deliveries).toBeGreaterThanOrEqual(backlog);
  });
});

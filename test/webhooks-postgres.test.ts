// PostgreSQL only (real concurrency, several instances): two senders share one endpoint's 1,000
// events without attempting any twice, in commit order per customer; and a sender killed with
// SIGKILL mid-delivery (a child process) loses nothing: its lease runs out and another
// instance delivers the event.
import { describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../src/events/actor.js';
import { transitionKyc } from '../src/customers/lifecycle.js';
import { WebhookEventType } from '../src/webhooks/event-types.js';
import { moveKyc, seedCustomer } from './helpers/customers.js';
import { onPostgres } from './helpers/db.js';
import { deferred } from './helpers/deferred.js';
import { useGateway } from './helpers/fixture.js';
import { startTs } from './helpers/process.js';
import { createEndpoint, Receiver, recorded, SENDER_ENV, TestClock } from './helpers/webhooks.js';

describe.runIf(onPostgres)('webhook sender on PostgreSQL', () => {
  const ctx = useGateway({ poolSize: 6 });

  it(
    'two instances, 1,000 status changes, one endpoint: every event delivered once, none attempted twice, per-customer order kept',
    { timeout: 120_000 },
    async () => {
      const a = await ctx.extraGateway({ env: SENDER_ENV, ownPool: 4 });
      const b = await ctx.extraGateway({ env: SENDER_ENV, ownPool: 4 });
      const { orgId } = await ctx.org();
      const receiver = await Receiver.start();
      const { id } = await createEndpoint(a.services, orgId, receiver.url(), [WebhookEventType.KycStatusChanged]);
      const byInstance = new Map<string, number>();
      for (const [name, gw] of [
        ['a', a],
        ['b', b],
      ] as const) {
        gw.services.webhooks.sender!.monitor.on('attempt', () => byInstance.set(name, (byInstance.get(name) ?? 0) + 1));
      }
      const customers = await Promise.all(Array.from({ length: 250 }, () => seedCustomer(ctx.db, orgId)));
      const steps = ['PENDING', 'IN_PROGRESS', 'AWAITING_RESUBMISSION', 'IN_PROGRESS'] as const;
      const t0 = performance.now();
      // Eight writers on the two instances' pools, each walking its customers through four moves.
      await Promise.all(
        Array.from({ length: 8 }, async (_, w) => {
          const db = (w % 2 === 0 ? a : b).services.db;
          for (const c of customers.filter((_, i) => i % 8 === w)) {
            for (const to of steps) {
              const r = await transitionKyc(db.prisma, orgId, c.id, { to }, new Date(), SYSTEM_ACTOR);
              if (r.kind !== 'moved') throw new Error(JSON.stringify(r));
            }
          }
        }),
      );
      const tWrites = performance.now();
      await receiver.waitFor(1000);
      console.info(
        `1,000 changes written in ${(tWrites - t0).toFixed(0)} ms, all delivered after ${(performance.now() - t0).toFixed(0)} ms`,
      );
      // Both senders catch up once more: nothing is left, nothing is sent again.
      await Promise.all([a.services.webhooks.sender!.wake(), b.services.webhooks.sender!.wake()]);
      expect(receiver.received).toHaveLength(1000);
      const ids = receiver.received.map((r) => r.headers['webhook-id']);
      expect(new Set(ids).size).toBe(1000);
      const rows = await ctx.db.prisma.webhookDelivery.groupBy({ by: ['status', 'attempts'], where: { endpointId: id }, _count: true });
      expect(rows).toEqual([{ status: 'DELIVERED', attempts: 1, _count: 1000 }]);
      const perCustomer = new Map<string, string[]>();
      for (const r of receiver.received) {
        const c = r.json.data.customer;
        perCustomer.set(c.id, [...(perCustomer.get(c.id) ?? []), c.kyc_status]);
      }
      for (const c of customers) expect(perCustomer.get(c.id)).toEqual([...steps]);
      console.info(`1,000 webhooks by instance: ${JSON.stringify(Object.fromEntries(byInstance))}`);
      expect([...byInstance.values()].reduce((x, y) => x + y, 0)).toBe(1000);
    },
  );

  it(
    'kill -9 of the sending instance mid-delivery: the event is delivered after the lease expires, never lost',
    { timeout: 180_000 },
    async () => {
      const { orgId } = await ctx.org();
      const inFlight = deferred();
      const receiver = await Receiver.start((n) => {
        if (n === 0) {
          inFlight.resolve();
          return 'hang';
        }
        return 200;
      });
      // Created through an instance that allows loopback but sends nothing itself.
      const manager = await ctx.extraGateway({ env: { ...SENDER_ENV, WEBHOOK_CONCURRENCY: '0' } });
      const { id } = await createEndpoint(manager.services, orgId, receiver.url(), [WebhookEventType.KycStatusChanged]);
      const child = await startTs(
        'src/main.ts',
        { DATABASE_URL: ctx.t.url!, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', ...SENDER_ENV },
        /listening on (http:\/\/\S+)/,
      );
      let killed = false;
      try {
        const c = await seedCustomer(ctx.db, orgId);
        await moveKyc(ctx.db, orgId, c.id, 'PENDING');
        await inFlight.promise;
        child.child.kill('SIGKILL');
        killed = true;
        await child.exited;
      } finally {
        if (!killed) child.child.kill('SIGKILL');
      }
      const [leased] = await ctx.db.prisma.webhookEndpoint.findMany({ where: { id } });
      expect(leased!.leaseOwner).not.toBeNull();
      expect(leased!.leaseUntil!.getTime()).toBeGreaterThan(Date.now());
      const [pending] = await ctx.db.prisma.webhookDelivery.findMany({ where: { endpointId: id } });
      // The cut-off attempt has no result, so none is recorded: the delivery is simply still due.
      expect(pending).toMatchObject({ status: 'PENDING', attempts: 0, lastAttemptAt: null });

      // Another instance: nothing while the dead one's lease runs, then the delivery once it has run out.
      const clock = new TestClock();
      const survivor = await ctx.extraGateway({ env: SENDER_ENV, now: clock.now });
      await survivor.services.webhooks.sender!.wake();
      expect(receiver.received).toHaveLength(1);
      const done = recorded(survivor.services, id);
      clock.set(new Date(leased!.leaseUntil!.getTime() + 1));
      await survivor.services.webhooks.sender!.wake();
      await done;
      expect(receiver.received).toHaveLength(2);
      expect(receiver.received[1]!.headers['webhook-id']).toBe(receiver.received[0]!.headers['webhook-id']);
      const [delivered] = await ctx.db.prisma.webhookDelivery.findMany({ where: { endpointId: id } });
      expect(delivered).toMatchObject({ status: 'DELIVERED', attempts: 1, lastStatusCode: 200 });
    },
  );
});

// PostgreSQL only (real concurrency): out-of-order commits never open a gap in a resumed
// subscription, and a change made through one gateway instance reaches the subscribers of
// another (LISTEN/NOTIFY wakes every instance; the events table is the source of truth).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { applyKycTransition } from '../src/customers/lifecycle.js';
import { SYSTEM_ACTOR } from '../src/events/actor.js';
import { decodeEventCursor } from '../src/events/snapshot.js';
import { deferred } from './helpers/deferred.js';
import { moveKyc, seedCustomer } from './helpers/customers.js';
import { onPostgres } from './helpers/db.js';
import { useGateway } from './helpers/fixture.js';
import { Clients, subscribersAtLeast, subscribersAtMost } from './helpers/subscriptions.js';

describe.runIf(onPostgres)('customerStatusChanged on PostgreSQL', () => {
  // A second instance on its own pool, the way two gateway processes share one database.
  const ctx = useGateway({ poolSize: 6, peers: [{ ownPool: 4 }] });
  const gw2 = () => ctx.peers[0]!;
  let orgId: string;
  let key: string;
  const clients = new Clients();
  beforeAll(async () => {
    ({ key, orgId } = await ctx.org());
  });
  afterEach(() => clients.closeAll());
  afterAll(() => clients.closeAll());

  const id = (c: { cursor: string }) => decodeEventCursor(c.cursor).id;

  it('out-of-order commits: A writes first and commits after B; a subscriber resuming in between still gets A', async () => {
    const [a, b] = [await seedCustomer(ctx.db, orgId), await seedCustomer(ctx.db, orgId)];
    const live = clients.subscribe(clients.ws(ctx.gw.url, key));
    await subscribersAtLeast(ctx.gw.services.bus, 1);

    const aWrote = deferred();
    const commitA = deferred();
    const txA = ctx.db.prisma.$transaction(
      async (tx) => {
        await applyKycTransition(tx, orgId, a.id, { to: 'PENDING' }, new Date(), SYSTEM_ACTOR);
        aWrote.resolve();
        await commitA.promise;
      },
      { timeout: 20_000 },
    );
    await aWrote.promise;
    await moveKyc(ctx.db, orgId, b.id, 'PENDING');
    await live.waitFor(1);
    // A is still open: a fresh fetch does not see it (delivery only after commit).
    await ctx.gw.services.bus.wake();
    expect(live.changes.map((c) => c.customer.id)).toEqual([b.id]);
    const cursorB = live.changes[0].cursor as string;
    await clients.closeAll();
    await subscribersAtMost(ctx.gw.services.bus, 0);

    // Resume between the two commits, on this instance and on the other one.
    const resumed = clients.subscribe(clients.ws(ctx.gw.url, key), { after: cursorB });
    const resumedElsewhere = clients.subscribe(clients.ws(gw2().url, key), { after: cursorB });
    await Promise.all([subscribersAtLeast(ctx.gw.services.bus, 1), subscribersAtLeast(gw2().services.bus, 1)]);
    commitA.resolve();
    await txA;
    await Promise.all([resumed.waitFor(1), resumedElsewhere.waitFor(1)]);
    // A resume after both commits replays A from the table.
    const late = clients.subscribe(clients.ws(ctx.gw.url, key), { after: cursorB });
    await late.waitFor(1);
    await moveKyc(ctx.db, orgId, b.id, 'IN_PROGRESS');
    await Promise.all([resumed.waitFor(2), resumedElsewhere.waitFor(2), late.waitFor(2)]);

    for (const sub of [resumed, resumedElsewhere, late]) {
      expect(sub.changes.map((c) => `${c.customer.id}:${c.kyc.to}`)).toEqual([`${a.id}:PENDING`, `${b.id}:IN_PROGRESS`]);
    }
    // The point of the test: A's id is smaller than B's, so an "after id" cursor would skip it.
    expect(id(late.changes[0])).toBeLessThan(decodeEventCursor(cursorB).id);
  });

  it('a change made through one instance reaches subscribers of the other; cursors work across instances', async () => {
    const c = await seedCustomer(ctx.db, orgId);
    const onOther = clients.subscribe(clients.ws(gw2().url, key), { filter: { customerIds: [c.id] } });
    const onSame = clients.subscribe(clients.ws(ctx.gw.url, key), { filter: { customerIds: [c.id] } });
    await Promise.all([subscribersAtLeast(gw2().services.bus, 1), subscribersAtLeast(ctx.gw.services.bus, 1)]);
    const r = await ctx.gw.gql(key, `mutation { transitionKyc(id: "${c.id}", to: PENDING) { __typename } }`);
    expect(r.body.data.transitionKyc.__typename).toBe('TransitionKycSuccess');
    await Promise.all([onOther.waitFor(1), onSame.waitFor(1)]);
    expect(onOther.changes[0]).toMatchObject({ kind: 'KYC', kyc: { from: 'NOT_STARTED', to: 'PENDING' }, customer: { id: c.id } });

    // A cursor handed out by instance 1 resumes on instance 2 with no gap and no duplicate.
    await moveKyc(ctx.db, orgId, c.id, 'IN_PROGRESS');
    await onSame.waitFor(2);
    const resumed = clients.subscribe(clients.ws(gw2().url, key), { filter: { customerIds: [c.id] }, after: onSame.changes[0].cursor });
    await resumed.waitFor(1);
    await moveKyc(ctx.db, orgId, c.id, 'AWAITING_RESUBMISSION');
    await resumed.waitFor(2);
    await gw2().services.bus.wake();
    expect(resumed.changes.map((x) => x.kyc.to)).toEqual(['IN_PROGRESS', 'AWAITING_RESUBMISSION']);
  });
});

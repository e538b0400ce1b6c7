// Subscription.customerStatusChanged over graphql-ws (the real client) and SSE: delivery
// once and after commit, filters, organisation isolation, scope, resume with a cursor, fan-out
// to many subscribers at a constant statement cost, and the cut-off of a slow subscriber.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Scope } from '../src/auth/scopes.js';
import { applyKycTransition } from '../src/customers/lifecycle.js';
import { SYSTEM_ACTOR } from '../src/events/actor.js';
import type { Customer } from '../src/customers/row.js';
import { decodeEventCursor, encodeEventCursor } from '../src/events/snapshot.js';
import { moveAml, moveKyc, seedCustomer, verify } from './helpers/customers.js';
import { dbKind } from './helpers/db.js';
import { deferred } from './helpers/deferred.js';
import { useGateway } from './helpers/fixture.js';
import { startGateway } from './helpers/gateway.js';
import { Clients, subscribersAtLeast, subscribersAtMost } from './helpers/subscriptions.js';

describe(`customerStatusChanged (${dbKind})`, () => {
  const ctx = useGateway({ poolSize: 6 });
  let orgId: string;
  let key: string;
  const clients = new Clients();
  beforeAll(async () => {
    ({ key, orgId } = await ctx.org());
  });
  afterEach(async () => {
    await clients.closeAll();
    await subscribersAtMost(ctx.gw.services.bus, 0);
  });
  afterAll(async () => {
    await clients.closeAll();
  });

  const summary = (c: any) => `${c.customer.id}:${c.kind}:${c.kyc ? `${c.kyc.from}>${c.kyc.to}` : `${c.aml.from}>${c.aml.to}`}`;

  it('delivers a committed change once; a rolled-back one never', async () => {
    const [c1, c2] = [await seedCustomer(ctx.db, orgId), await seedCustomer(ctx.db, orgId, { externalId: 'crm-committed' })];
    const sub = clients.subscribe(clients.ws(ctx.gw.url, key));
    await subscribersAtLeast(ctx.gw.services.bus, 1);
    await ctx.db.prisma
      .$transaction(async (tx) => {
        await applyKycTransition(tx, orgId, c1.id, { to: 'PENDING' }, new Date(), SYSTEM_ACTOR);
        throw new Error('roll back');
      })
      .catch(() => {});
    await moveKyc(ctx.db, orgId, c2.id, 'PENDING');
    await sub.waitFor(1);
    await moveKyc(ctx.db, orgId, c2.id, 'IN_PROGRESS');
    await sub.waitFor(2);
    await ctx.gw.services.bus.wake();
    expect(sub.results.every((r) => !r.errors)).toBe(true);
    expect(sub.changes.map(summary)).toEqual([`${c2.id}:KYC:NOT_STARTED>PENDING`, `${c2.id}:KYC:PENDING>IN_PROGRESS`]);
    expect(sub.changes[1]).toMatchObject({ customer: { kycStatus: 'IN_PROGRESS', externalId: c2.externalId }, aml: null });
    expect(new Set(sub.changes.map((c) => c.cursor)).size).toBe(2);
  });

  it('filters by customer id, external id and kind; never shows another organisation', async () => {
    const other = await ctx.org(undefined, { prefix: 'other' });
    const [c1, c2, c3, c4] = [
      await seedCustomer(ctx.db, orgId),
      await seedCustomer(ctx.db, orgId, { externalId: 'crm-filtered' }),
      await seedCustomer(ctx.db, orgId),
      await seedCustomer(ctx.db, orgId),
    ];
    const theirs = await seedCustomer(ctx.db, other.orgId);
    await verify(ctx.db, orgId, c3.id);
    const client = clients.ws(ctx.gw.url, key);
    const all = clients.subscribe(client);
    const byId = clients.subscribe(client, { filter: { customerIds: [c1.id.toUpperCase()] } });
    const byExt = clients.subscribe(client, { filter: { externalIds: [c2.externalId] } });
    const aml = clients.subscribe(client, { filter: { kind: 'AML' } });
    const theirSub = clients.subscribe(clients.ws(ctx.gw.url, other.key));
    await subscribersAtLeast(ctx.gw.services.bus, 5);
    const steps: (() => Promise<unknown>)[] = [
      () => moveKyc(ctx.db, orgId, c1.id, 'PENDING'),
      () => moveKyc(ctx.db, orgId, c2.id, 'PENDING'),
      () => moveAml(ctx.db, orgId, c3.id, 'IN_PROGRESS'),
      () => moveKyc(ctx.db, orgId, c1.id, 'IN_PROGRESS'),
      () => moveKyc(ctx.db, orgId, c2.id, 'NOT_REQUIRED').catch(() => moveKyc(ctx.db, orgId, c2.id, 'IN_PROGRESS')),
      () => moveAml(ctx.db, orgId, c3.id, 'CLEAR'),
      () => moveKyc(ctx.db, orgId, c4.id, 'PENDING'),
    ];
    for (const [i, step] of steps.entries()) {
      await step();
      await all.waitFor(i + 1);
    }
    // The other organisation's own change comes last: anything of ours would have come first.
    await moveKyc(ctx.db, other.orgId, theirs.id, 'PENDING');
    await theirSub.waitFor(1);
    expect(all.changes).toHaveLength(7);
    expect(byId.changes.map(summary)).toEqual([`${c1.id}:KYC:NOT_STARTED>PENDING`, `${c1.id}:KYC:PENDING>IN_PROGRESS`]);
    expect(byExt.changes.map(summary)).toEqual([`${c2.id}:KYC:NOT_STARTED>PENDING`, `${c2.id}:KYC:PENDING>IN_PROGRESS`]);
    expect(aml.changes.map(summary)).toEqual([`${c3.id}:AML:NOT_SCREENED>IN_PROGRESS`, `${c3.id}:AML:IN_PROGRESS>CLEAR`]);
    expect(theirSub.changes.map(summary)).toEqual([`${theirs.id}:KYC:NOT_STARTED>PENDING`]);
    expect(all.changes.some((c) => c.customer.id === theirs.id)).toBe(false);
  });

  it('needs customers:read (FORBIDDEN) and a valid key in connection_init', async () => {
    const writer = await ctx.org([Scope.ComplianceWrite, Scope.CustomersWrite]);
    const denied = clients.subscribe(clients.ws(ctx.gw.url, writer.key));
    await denied.ended.promise;
    expect(denied.results).toHaveLength(1);
    expect(denied.results[0]!.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const anonymous = clients.subscribe(clients.ws(ctx.gw.url, null));
    const end = await anonymous.ended.promise;
    expect((end.error as { code?: number }).code).toBe(4401);
    expect(ctx.gw.services.bus.subscriberCount).toBe(0);
  });

  it('works over Server-Sent Events', async () => {
    const c = await seedCustomer(ctx.db, orgId);
    const sse = clients.sse(ctx.gw.url, key, { filter: { customerIds: [c.id] } });
    await subscribersAtLeast(ctx.gw.services.bus, 1);
    await moveKyc(ctx.db, orgId, c.id, 'PENDING');
    await sse.waitFor(1);
    expect(sse.changes.map(summary)).toEqual([`${c.id}:KYC:NOT_STARTED>PENDING`]);
  });

  it('resumes after a disconnect: exactly the missed changes, in order, then live ones, none twice', async () => {
    const c = await seedCustomer(ctx.db, orgId);
    await verify(ctx.db, orgId, c.id);
    const filter = { customerIds: [c.id] };
    const first = clients.subscribe(clients.ws(ctx.gw.url, key), { filter });
    await subscribersAtLeast(ctx.gw.services.bus, 1);
    await moveAml(ctx.db, orgId, c.id, 'IN_PROGRESS');
    await first.waitFor(1);
    const cursor = first.changes[0].cursor as string;
    await clients.closeAll();
    await subscribersAtMost(ctx.gw.services.bus, 0);

    await moveAml(ctx.db, orgId, c.id, 'CLEAR');
    await moveAml(ctx.db, orgId, c.id, 'IN_PROGRESS');
    const resumed = clients.subscribe(clients.ws(ctx.gw.url, key), { filter, after: cursor });
    await resumed.waitFor(2);
    await moveAml(ctx.db, orgId, c.id, 'CLEAR');
    await resumed.waitFor(3);
    await ctx.gw.services.bus.wake();
    expect(resumed.changes.map(summary)).toEqual([
      `${c.id}:AML:IN_PROGRESS>CLEAR`,
      `${c.id}:AML:CLEAR>IN_PROGRESS`,
      `${c.id}:AML:IN_PROGRESS>CLEAR`,
    ]);

    // Resuming from a replayed cursor continues from there, too.
    const again = clients.subscribe(clients.ws(ctx.gw.url, key), { filter, after: resumed.changes[0].cursor });
    await again.waitFor(2);
    // The same events (a cursor encodes the batch an event was delivered in, so the same event
    // may carry a different, equally valid cursor when replayed rather than delivered live).
    const identity = (x: any) => `${summary(x)}@${x.occurredAt}`;
    expect(again.changes.map(identity)).toEqual(resumed.changes.slice(1).map(identity));
  });

  it('rejects a malformed cursor (BAD_USER_INPUT) and, with EVENT_RETENTION_DAYS set, one older than it (CURSOR_EXPIRED)', async () => {
    const oldCursor = encodeEventCursor('1:1:', '1:1:', 1n, new Date(Date.now() - 8 * 86_400_000));
    const purging = await startGateway(ctx.db, { env: { EVENT_RETENTION_DAYS: '7' } });
    try {
      const client = clients.ws(purging.url, key);
      const bad = clients.subscribe(client, { after: 'not-a-cursor' });
      const old = clients.subscribe(client, { after: oldCursor });
      await Promise.all([bad.ended.promise, old.ended.promise]);
      expect(bad.results[0]!.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(old.results[0]!.errors?.[0]?.extensions).toMatchObject({ code: 'CURSOR_EXPIRED', retentionDays: 7 });
    } finally {
      await clients.closeAll();
      await purging.close();
    }
    // Without a retention nothing is purged, so no cursor expires: the same cursor resumes.
    const kept = clients.subscribe(clients.ws(ctx.gw.url, key), { after: oldCursor, filter: { customerIds: [crypto.randomUUID()] } });
    await subscribersAtLeast(ctx.gw.services.bus, 1);
    expect(kept.results).toEqual([]);
  });

  it('fans one change out to 200 subscribers without a statement per subscriber', async () => {
    const c = await seedCustomer(ctx.db, orgId);
    const measure = async (subscribers: number, to: 'PENDING' | 'IN_PROGRESS') => {
      const subs = Array.from({ length: 4 }, () => clients.ws(ctx.gw.url, key))
        .flatMap((client) =>
          Array.from({ length: subscribers / (subscribers >= 4 ? 4 : subscribers) }, () =>
            clients.subscribe(client, { filter: { customerIds: [c.id] } }),
          ),
        )
        .slice(0, subscribers);
      await subscribersAtLeast(ctx.gw.services.bus, subscribers);
      const statements: string[] = [];
      // Background housekeeping (purges, key cache refreshes) is not part of the delivery.
      const stop = ctx.db.onQuery((sql) => !/DELETE FROM|api_keys|organizations|rate_limit_windows/.test(sql) && statements.push(sql));
      const started = performance.now();
      try {
        await moveKyc(ctx.db, orgId, c.id, to);
        await Promise.all(subs.map((s) => s.waitFor(1)));
      } finally {
        stop();
      }
      const ms = performance.now() - started;
      expect(subs.every((s) => s.changes.length === 1 && s.changes[0].kyc.to === to)).toBe(true);
      await clients.closeAll();
      await subscribersAtMost(ctx.gw.services.bus, 0);
      const busFetches = statements.filter((s) => s.includes('pg_current_snapshot')).length;
      return { total: statements.length, busFetches, others: statements.length - busFetches, ms };
    };
    const one = await measure(1, 'PENDING');
    const many = await measure(200, 'IN_PROGRESS');
    console.info(`fan-out: 1 subscriber ${JSON.stringify(one)}; 200 subscribers ${JSON.stringify(many)}`);
    // One fetch per wake-up, whatever the number of subscribers (the 1 s fallback poll may add
    // one per second the delivery took on a loaded machine), and no other statement per subscriber.
    expect(many.busFetches).toBeLessThanOrEqual(2 + Math.floor(many.ms / 1000));
    expect(many.others).toBe(one.others);
  });
});

describe(`slow subscribers (${dbKind})`, () => {
  // The big subscription below (2,000 aliases) is far over the document limits by design.
  const unlimited = { GRAPHQL_MAX_ALIASES: '5000', GRAPHQL_MAX_TOKENS: '20000', GRAPHQL_MAX_DOCUMENT_BYTES: '262144' };
  const ctx = useGateway({ poolSize: 4, env: { SUBSCRIPTION_BUFFER_SIZE: '5', ...unlimited } });
  const clients = new Clients();
  // Registered after the fixture's, so it runs before the gateway closes (after-hooks run in reverse).
  afterAll(() => clients.closeAll());

  it('cuts off a subscriber whose buffer fills, with SUBSCRIBER_TOO_SLOW and its last cursor; others are unaffected', async () => {
    const { key, orgId } = await ctx.org();
    const c: Customer = await seedCustomer(ctx.db, orgId, { fullName: 'x'.repeat(255) });
    await verify(ctx.db, orgId, c.id);
    await moveAml(ctx.db, orgId, c.id, 'IN_PROGRESS');
    // Large messages (many aliases of a 255-character name) fill the socket buffers quickly,
    // so the server soon cannot hand this subscriber more and its queue grows.
    const aliases = Array.from({ length: 2000 }, (_, i) => `n${i}: fullName`).join(' ');
    const bigQuery = `subscription { customerStatusChanged { cursor kind aml { from to } customer { ${aliases} } } }`;
    let socket: import('ws').WebSocket | undefined;
    const slow = clients.subscribe(
      clients.ws(ctx.gw.url, key, (s) => (socket = s)),
      {},
      bigQuery,
    );
    const fast = clients.subscribe(clients.ws(ctx.gw.url, key));
    await subscribersAtLeast(ctx.gw.services.bus, 2);
    socket!.pause();
    const overflowed = deferred<void>();
    ctx.gw.services.bus.monitor.once('overflow', () => overflowed.resolve());
    let cutOff = false;
    void overflowed.promise.then(() => (cutOff = true));
    let moves = 0;
    while (!cutOff && moves < 400) {
      await moveAml(ctx.db, orgId, c.id, moves % 2 === 0 ? 'CLEAR' : 'IN_PROGRESS');
      moves++;
      await fast.waitFor(moves);
    }
    expect(cutOff).toBe(true);
    expect(ctx.gw.services.bus.subscriberCount).toBe(1);
    // The fast subscriber keeps receiving after the cut-off.
    await moveAml(ctx.db, orgId, c.id, moves % 2 === 0 ? 'CLEAR' : 'IN_PROGRESS');
    moves++;
    await fast.waitFor(moves);
    expect(fast.changes).toHaveLength(moves);
    expect(fast.results.every((r) => !r.errors)).toBe(true);

    socket!.resume();
    await slow.ended.promise;
    const last = slow.results.at(-1)!;
    expect(last.errors?.[0]?.extensions?.code).toBe('SUBSCRIBER_TOO_SLOW');
    const delivered = slow.changes;
    expect(delivered.length).toBeLessThan(moves);
    expect(last.errors?.[0]?.extensions?.lastCursor).toBe(delivered.at(-1)?.cursor ?? null);
    console.info(`slow subscriber: cut off after ${moves} changes, ${delivered.length} delivered to it`);

    // It can resume with its last cursor and gets exactly the rest.
    const resumed = clients.subscribe(clients.ws(ctx.gw.url, key), { after: delivered.at(-1)!.cursor });
    await resumed.waitFor(moves - delivered.length);
    const eventId = (x: { cursor: string }) => decodeEventCursor(x.cursor).id;
    expect([...delivered, ...resumed.changes].map(eventId)).toEqual(fast.changes.map(eventId));
  });
});

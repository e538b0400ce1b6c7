// The match rules and idempotency keys under concurrency, on PostgreSQL only (PGlite runs one
// statement at a time, so it cannot race): 50 simultaneous requests per scenario, on one
// gateway instance and spread over two instances with separate pools; a duplicate waiting for
// a running request; a connection killed mid-transaction.
import { describe, expect, it } from 'vitest';
import { Scope } from '../src/auth/scopes.js';
import type { Database } from '../src/db/client.js';
import { onPostgres } from './helpers/db.js';
import { customersOf, eventsOf, UPSERT, upsert } from './helpers/customers.js';
import { deferred } from './helpers/deferred.js';
import { useGateway } from './helpers/fixture.js';
import { startGateway, type TestGateway } from './helpers/gateway.js';

const N = 50;

/** Resolves once some backend waits on a lock (the duplicate blocked on the key). */
async function untilSomeoneWaitsOnALock(db: Database): Promise<void> {
  for (let i = 0; i < 500; i++) {
    const rows = await db.prisma.$queryRaw<{ n: number }[]>`
      SELECT count(*)::int AS n FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE NOT l.granted AND a.datname = current_database()`;
    if ((rows[0]?.n ?? 0) > 0) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('nobody waited on a lock');
}

describe.runIf(onPostgres)('upsert concurrency (postgres)', () => {
  // Two instances with separate pools: the file's gateway and a peer.
  const ctx = useGateway({ poolSize: 20, peers: [{ ownPool: 20 }] });
  const gateways = (): TestGateway[] => [ctx.gw, ...ctx.peers];

  /** Fires N upserts at once, round-robin over `instances` gateways; every one must succeed. */
  async function storm(instances: number, key: string, input: (i: number) => Record<string, unknown>, idempotencyKey?: string) {
    const results = await Promise.all(
      Array.from({ length: N }, (_, i) => gateways()[i % instances]!.gql(key, UPSERT, { input: input(i), key: idempotencyKey })),
    );
    for (const r of results) {
      // No deadlock, serialization or unique-violation error ever reaches a caller.
      expect(r.status).toBe(200);
      expect(r.body.errors).toBeUndefined();
      expect(r.body.data.upsertCustomer.__typename).toBe('UpsertCustomerSuccess');
    }
    return results.map((r) => r.body.data.upsertCustomer);
  }

  describe.each([{ instances: 1 }, { instances: 2 }])('on $instances instance(s)', ({ instances }) => {
    it(`${N} simultaneous upserts of one externalId make one customer`, async () => {
      const { key, orgId } = await ctx.org([Scope.CustomersWrite], { prefix: 'race-ext' });
      // Different emails too: every request after the first updates the one record.
      const results = await storm(instances, key, (i) => ({
        externalId: 'crm-race',
        fullName: `Racer ${i}`,
        email: `racer${i}@example.com`,
      }));
      const rows = await customersOf(ctx.db, orgId);
      expect(rows).toHaveLength(1);
      expect(new Set(results.map((r) => r.customer.id))).toEqual(new Set([rows[0]!.id]));
      expect(results.filter((r) => r.outcome === 'CREATED')).toHaveLength(1);
      const events = await eventsOf(ctx.db, orgId);
      expect(events.filter((e) => e.kind === 'CREATED')).toHaveLength(1);
      expect(events).toHaveLength(N);
    });

    it(`${N} simultaneous upserts of one email without externalId make one customer`, async () => {
      const { key, orgId } = await ctx.org([Scope.CustomersWrite], { prefix: 'race-mail' });
      // The same address in different spellings: still one customer.
      const results = await storm(instances, key, (i) => ({
        fullName: `Mailer ${i}`,
        email: i % 2 ? 'Same@Example.com' : ' same@example.COM ',
      }));
      const rows = await customersOf(ctx.db, orgId);
      expect(rows).toHaveLength(1);
      expect(results.filter((r) => r.outcome === 'CREATED')).toHaveLength(1);
      expect(results.filter((r) => r.outcome === 'UPDATED')).toHaveLength(N - 1);
    });

    it(`${N} simultaneous requests with one idempotency key have one effect and ${N} identical payloads`, async () => {
      const { key, orgId } = await ctx.org([Scope.CustomersWrite], { prefix: 'race-key' });
      const results = await storm(
        instances,
        key,
        () => ({ externalId: 'crm-once', fullName: 'Once', email: 'once@example.com' }),
        'k-once',
      );
      expect(await customersOf(ctx.db, orgId)).toHaveLength(1);
      expect(await eventsOf(ctx.db, orgId)).toHaveLength(1);
      expect(results.filter((r) => !r.replayed)).toHaveLength(1);
      const payloads = new Set(results.map((r) => JSON.stringify({ ...r, replayed: null })));
      expect(payloads.size).toBe(1);
      expect(results[0]).toMatchObject({ outcome: 'CREATED', customer: { externalId: 'crm-once' } });
    });
  });

  it('crossed upserts (A’s externalId with B’s email and the reverse) neither deadlock nor merge', async () => {
    const { key, orgId } = await ctx.org([Scope.CustomersWrite], { prefix: 'race-cross' });
    await upsert(gateways()[0]!, key, { externalId: 'crm-a', fullName: 'A', email: 'a@example.com' });
    await upsert(gateways()[0]!, key, { externalId: 'crm-b', fullName: 'B', email: 'b@example.com' });
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        gateways()[i % 2]!.gql(key, UPSERT, {
          input:
            i % 2
              ? { externalId: 'crm-a', fullName: 'A', email: 'b@example.com' }
              : { externalId: 'crm-b', fullName: 'B', email: 'a@example.com' },
        }),
      ),
    );
    for (const r of results) expect(r.body.data?.upsertCustomer).toMatchObject({ __typename: 'CustomerConflictError', field: 'email' });
    expect((await customersOf(ctx.db, orgId)).map((c) => [c.externalId, c.email])).toEqual([
      ['crm-a', 'a@example.com'],
      ['crm-b', 'b@example.com'],
    ]);
  });

  it('a duplicate waits for the running request, then replays it', async () => {
    const gw = gateways()[0]!;
    const { key, orgId } = await ctx.org([Scope.CustomersWrite], { prefix: 'wait' });
    const entered = deferred();
    const release = deferred();
    gw.services.testHooks.insideWriteTransaction = async () => {
      delete gw.services.testHooks.insideWriteTransaction; // pause the first request only
      entered.resolve();
      await release.promise;
    };
    const input = { fullName: 'Slow', email: 'slow@example.com' };
    const first = upsert(gw, key, input, 'k-wait');
    await entered.promise;
    const second = upsert(gateways()[1]!, key, input, 'k-wait');
    await untilSomeoneWaitsOnALock(ctx.db);
    release.resolve();
    const [a, b] = await Promise.all([first, second]);
    expect(a).toMatchObject({ outcome: 'CREATED', replayed: false });
    expect(b).toEqual({ ...a, replayed: true });
    expect(await eventsOf(ctx.db, orgId)).toHaveLength(1);
  });

  it('a duplicate still running after the bounded wait gets IdempotencyKeyInProgressError', async () => {
    const impatient = await startGateway(ctx.db, { env: { IDEMPOTENCY_WAIT_MS: '200' } });
    const gw = gateways()[1]!;
    try {
      const { key, orgId } = await ctx.org([Scope.CustomersWrite], { prefix: 'busy' });
      const entered = deferred();
      const release = deferred();
      gw.services.testHooks.insideWriteTransaction = async () => {
        delete gw.services.testHooks.insideWriteTransaction;
        entered.resolve();
        await release.promise;
      };
      const input = { fullName: 'Busy', email: 'busy@example.com' };
      const first = upsert(gw, key, input, 'k-busy');
      await entered.promise;
      const started = Date.now();
      const second = await upsert(impatient, key, input, 'k-busy');
      expect(second).toMatchObject({ __typename: 'IdempotencyKeyInProgressError', code: 'idempotency_in_progress' });
      expect(Date.now() - started).toBeGreaterThanOrEqual(150);
      release.resolve();
      expect(await first).toMatchObject({ outcome: 'CREATED', replayed: false });
      // The in-progress answer was not stored: the next duplicate replays the first result.
      expect(await upsert(impatient, key, input, 'k-busy')).toMatchObject({ outcome: 'CREATED', replayed: true });
      expect(await customersOf(ctx.db, orgId)).toHaveLength(1);
    } finally {
      delete gw.services.testHooks.insideWriteTransaction;
      await impatient.close();
    }
  });

  it('the bounded wait is the key’s alone: once claimed, a request waits for a locked customer as long as it takes', async () => {
    const impatient = await ctx.extraGateway({ env: { IDEMPOTENCY_WAIT_MS: '200' } });
    const { key, orgId } = await ctx.org([Scope.CustomersWrite], { prefix: 'held' });
    await upsert(impatient, key, { externalId: 'crm-held', fullName: 'Held', email: 'held@example.com' });
    const locked = deferred();
    const release = deferred();
    // Another transaction (a status move, say) holds the customer's row lock.
    const holder = ctx.db.prisma.$transaction(
      async (tx) => {
        await tx.$queryRaw`SELECT id FROM customers WHERE org_id = ${orgId}::uuid AND external_id = 'crm-held' FOR UPDATE`;
        locked.resolve();
        await release.promise;
      },
      { timeout: 30_000 },
    );
    await locked.promise;
    const waiting = upsert(impatient, key, { externalId: 'crm-held', fullName: 'Held Later', email: 'held@example.com' }, 'k-held');
    await untilSomeoneWaitsOnALock(ctx.db);
    // Time itself is what is tested: the row stays locked for longer than the key's bound.
    await new Promise((r) => setTimeout(r, 600));
    release.resolve();
    await holder;
    expect(await waiting).toMatchObject({ __typename: 'UpsertCustomerSuccess', outcome: 'UPDATED', replayed: false });
    expect((await customersOf(ctx.db, orgId))[0]?.fullName).toBe('Held Later');
  });

  it('a connection killed mid-transaction leaves no stuck key: the retry with the same key runs', async () => {
    const gw = gateways()[0]!;
    const { key, orgId } = await ctx.org([Scope.CustomersWrite], { prefix: 'kill' });
    gw.services.testHooks.insideWriteTransaction = async (tx) => {
      delete gw.services.testHooks.insideWriteTransaction;
      const [row] = await tx.$queryRaw<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`;
      // Kill the backend from another connection while it is busy inside the transaction
      // (key claimed, customer and event written, response stored, not committed).
      await Promise.all([tx.$queryRaw`SELECT pg_sleep(10)`, ctx.db.prisma.$queryRaw`SELECT pg_terminate_backend(${row!.pid}::int)`]);
    };
    const input = { externalId: 'crm-kill', fullName: 'Killed', email: 'killed@example.com' };
    const killed = await gw.gql(key, UPSERT, { input, key: 'k-kill' });
    expect(killed.body.errors?.[0]?.extensions?.code).toMatch(/UNAVAILABLE|INTERNAL_SERVER_ERROR/);
    expect(await customersOf(ctx.db, orgId)).toHaveLength(0);
    expect(await ctx.db.prisma.idempotencyKey.count({ where: { orgId } })).toBe(0);

    const retry = await upsert(gw, key, input, 'k-kill');
    expect(retry).toMatchObject({ outcome: 'CREATED', replayed: false, customer: { externalId: 'crm-kill' } });
    expect(await customersOf(ctx.db, orgId)).toHaveLength(1);
    expect(await eventsOf(ctx.db, orgId)).toHaveLength(1);
  });
});

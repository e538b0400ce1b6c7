// PGlite: an embedded database that fails at the connection level (the instance is closed under
// the running gateway, what a crashed or shut-down PGlite looks like from Prisma: "PGlite is
// closed") is a lost database, so every surface answers 503 `unavailable` with Retry-After,
// never 500. The fixture's database must outlive the file, so this file breaks one of its own.
import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Scope } from '../src/auth/scopes.js';
import { openDatabase, type Database } from '../src/db/client.js';
import { UNAVAILABLE_RETRY_AFTER_SECONDS } from '../src/db/errors.js';
import { applyMigrations } from '../src/db/migrate.js';
import { ErrorCode } from '../src/lib/error-codes.js';
import { GraphQLErrorCode } from '../src/graphql/context.js';
import { onPostgres } from './helpers/db.js';
import { issueKey, startGateway, uniqueOrg, type TestGateway } from './helpers/gateway.js';
import { rest } from './helpers/rest.js';
import { Clients } from './helpers/subscriptions.js';

describe.runIf(!onPostgres)('a PGlite-backed gateway whose database is gone', () => {
  let pglite: PGlite;
  let db: Database | undefined;
  let gw: TestGateway | undefined;
  const clients = new Clients();
  beforeAll(async () => {
    pglite = new PGlite();
    db = await openDatabase({ kind: 'memory', pglite });
    await applyMigrations(db.adapterFactory);
    // Keys verified within the last second are served from the cache: the failure then comes
    // from the request's own queries, not from authentication. Both paths are checked.
    gw = await startGateway(db, { env: { API_KEY_CACHE_MS: '1000' } });
  });
  afterAll(async () => {
    await clients.closeAll();
    await gw?.close();
    await db?.close().catch(() => {});
  });

  it('answers 503 unavailable with Retry-After on REST and GraphQL (reads, writes, subscriptions), never 500', async () => {
    if (!db || !gw) throw new Error('set up in beforeAll');
    const scopes = [Scope.CustomersRead, Scope.CustomersWrite];
    const cached = await issueKey(db, uniqueOrg(), scopes);
    const uncached = await issueKey(db, uniqueOrg(), scopes);
    const warm = await rest(gw.url, cached.key, 'GET', '/api/v1/customers');
    expect(warm.status).toBe(200);
    expect((await gw.gql(cached.key, '{ viewer { scopes } }')).status).toBe(200);

    await pglite.close();
    expect(db.listenerStatus().state).toBe('disconnected');

    const expectRest503 = (r: Awaited<ReturnType<typeof rest>>) => {
      expect(r.status, JSON.stringify(r.body)).toBe(503);
      expect(r.body).toEqual({ error: { code: ErrorCode.Unavailable, message: expect.any(String), details: {} } });
      expect(r.headers.get('retry-after')).toBe(String(UNAVAILABLE_RETRY_AFTER_SECONDS));
      expect(r.headers.get('x-request-id')).toMatch(/\S/);
    };
    const expectGql503 = (r: Awaited<ReturnType<TestGatewayGql>>) => {
      expect(r.status, JSON.stringify(r.body)).toBe(503);
      expect(r.body.errors?.map((e: { extensions?: { code?: string } }) => e.extensions?.code)).toContain(GraphQLErrorCode.Unavailable);
      expect(JSON.stringify(r.body)).not.toMatch(/PGlite|prisma|SELECT/i);
      expect(r.headers.get('retry-after')).toBe(String(UNAVAILABLE_RETRY_AFTER_SECONDS));
    };
    type TestGatewayGql = typeof gw.gql;

    for (const key of [cached.key, uncached.key]) {
      expectRest503(await rest(gw.url, key, 'GET', '/api/v1/customers'));
      expectRest503(await rest(gw.url, key, 'POST', '/api/v1/customers', { fullName: 'Ada', email: 'ada@example.com' }));
      expectRest503(
        await rest(gw.url, key, 'POST', '/api/v1/customers', { fullName: 'Ada', email: 'ada@example.com' }, { 'Idempotency-Key': 'k-1' }),
      );
      expectGql503(await gw.gql(key, '{ customers(first: 5) { totalCount edges { node { id } } } }'));
      expectGql503(await gw.gql(key, 'mutation { upsertCustomer(input: { fullName: "Ada", email: "ada@example.com" }) { __typename } }'));
    }

    // A subscription over SSE (the bus starts with this first subscriber, and cannot): a clear
    // UNAVAILABLE error that ends the stream, not a hang.
    const sub = clients.sse(gw.url, cached.key);
    const ended = await sub.ended.promise;
    expect(ended.error).toBeUndefined();
    expect(sub.results.flatMap((r) => r.errors ?? []).map((e) => e.extensions?.code)).toEqual([GraphQLErrorCode.Unavailable]);
  });
});

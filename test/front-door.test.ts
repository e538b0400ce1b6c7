// The front door (src/front-door/): the three surfaces (REST, GraphQL over HTTP, graphql-ws)
// refuse a bad key, a missing scope and an exhausted rate limit through the same failures, with
// the same message, counted by the same metric; and the entrance defects of graphql-ws are gone
// (a lost database is never a raw message in a close reason or an error, a syntax error is an
// error of that operation, every error has a code, protocol errors reach the logger).
import { afterEach, describe, expect, it, vi } from 'vitest';
import { PGlite } from '@electric-sql/pglite';
import { Scope } from '../src/auth/scopes.js';
import { openDatabase } from '../src/db/client.js';
import { applyMigrations } from '../src/db/migrate.js';
import { WsCloseCode } from '../src/front-door/failures.js';
import { GraphQLErrorCode } from '../src/graphql/context.js';
import { ErrorCode } from '../src/lib/error-codes.js';
import { createLogger } from '../src/ops/logger.js';
import { createTestDatabase, dbKind, onPostgres } from './helpers/db.js';
import { useGateway } from './helpers/fixture.js';
import { issueKey, startGateway, uniqueOrg } from './helpers/gateway.js';
import { scrape, sumOf } from './helpers/metrics.js';
import { RawWs } from './helpers/raw-ws.js';
import { rest } from './helpers/rest.js';

const ctx = useGateway();
const sockets: RawWs[] = [];
afterEach(() => {
  for (const s of sockets.splice(0)) s.close();
});
const track = (ws: RawWs) => (sockets.push(ws), ws);

const BAD_KEY = `ic_live_${'x'.repeat(43)}`;
const VIEWER = '{ viewer { scopes } }';
const CUSTOMERS = '{ customers(first: 1) { totalCount } }';

describe(`one front door for REST, GraphQL over HTTP and graphql-ws (${dbKind})`, () => {
  it('401: an unknown key is refused alike, with the same message', async () => {
    const r = await rest(ctx.gw.url, BAD_KEY, 'GET', '/api/v1/customers');
    expect(r.status).toBe(401);
    expect(r.headers.get('www-authenticate')).toBe('Bearer');
    const g = await ctx.gw.gql(BAD_KEY, VIEWER);
    expect(g.status).toBe(401);
    expect(g.headers.get('www-authenticate')).toBe('Bearer');
    expect(g.body.errors?.[0]?.extensions?.code).toBe(GraphQLErrorCode.Unauthenticated);
    expect(g.body.errors?.[0]?.message).toBe(r.body.error.message);
    const ws = track(await RawWs.open(ctx.gw.url));
    ws.send({ type: 'connection_init', payload: { authorization: `Bearer ${BAD_KEY}` } });
    expect(await ws.closed.promise).toEqual({ code: WsCloseCode.Unauthorized, reason: expect.stringMatching(/^Unauthorized/) });
  });

  it('403: a key without the scope is refused alike, naming the scope', async () => {
    const { key } = await ctx.org([Scope.CustomersWrite]);
    const r = await rest(ctx.gw.url, key, 'GET', '/api/v1/customers');
    expect(r.status).toBe(403);
    expect(r.body.error).toEqual({
      code: ErrorCode.Forbidden,
      message: expect.any(String),
      details: { required_scope: Scope.CustomersRead },
    });
    const g = await ctx.gw.gql(key, CUSTOMERS);
    expect(g.status).toBe(200);
    expect(g.body.errors?.[0]?.extensions).toEqual({ code: GraphQLErrorCode.Forbidden, requiredScope: Scope.CustomersRead });
    expect(g.body.errors?.[0]?.message).toBe(r.body.error.message);
    const ws = track(await RawWs.connect(ctx.gw.url, { authorization: `Bearer ${key}` }));
    const [next] = await ws.run('1', CUSTOMERS);
    expect(next?.payload.errors?.[0]?.extensions).toEqual({ code: GraphQLErrorCode.Forbidden, requiredScope: Scope.CustomersRead });
    expect(next?.payload.errors?.[0]?.message).toBe(r.body.error.message);
  });

  it('429: each surface spends the same allowance and refuses alike; every refusal is counted by surface', async () => {
    const before = (await scrape(ctx.gw.url)).samples;
    // 20 a minute: the limiter leases a twentieth at a time, so every request asks the shared counter.
    const surfaces = { rest: await ctx.org(undefined, { perMinute: 1 }), graphql: await ctx.org(undefined, { perMinute: 1 }) };
    expect((await rest(ctx.gw.url, surfaces.rest.key, 'GET', '/api/v1/customers')).status).toBe(200);
    const r = await rest(ctx.gw.url, surfaces.rest.key, 'GET', '/api/v1/customers');
    expect(r.status).toBe(429);
    expect(r.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(r.body.error.details).toEqual({ limit: 1, window_seconds: 60 });

    expect((await ctx.gw.gql(surfaces.graphql.key, VIEWER)).status).toBe(200);
    const g = await ctx.gw.gql(surfaces.graphql.key, VIEWER);
    expect(g.status).toBe(429);
    expect(g.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(g.body.errors?.[0]?.extensions).toMatchObject({ code: GraphQLErrorCode.RateLimited, limit: 1, windowSeconds: 60 });

    const { key } = await ctx.org(undefined, { perMinute: 1 });
    const ws = track(await RawWs.connect(ctx.gw.url, { authorization: `Bearer ${key}` }));
    expect((await ws.run('1', VIEWER))[0]?.type).toBe('next');
    const [refused] = await ws.run('2', VIEWER);
    expect(refused?.type).toBe('error');
    expect(refused?.payload[0]?.extensions).toMatchObject({ code: GraphQLErrorCode.RateLimited, limit: 1, windowSeconds: 60 });
    // One message text for the three surfaces (modulo the seconds left in the window).
    const shape = (m: string) => m.replace(/\d+ s\.$/, 'N s.');
    expect(shape(g.body.errors?.[0]?.message)).toBe(shape(r.body.error.message));
    expect(shape(refused?.payload[0]?.message)).toBe(shape(r.body.error.message));

    const after = (await scrape(ctx.gw.url)).samples;
    for (const surface of ['rest', 'graphql', 'websocket']) {
      const delta = sumOf(after, 'gateway_rate_limited_total', { surface }) - sumOf(before, 'gateway_rate_limited_total', { surface });
      expect(delta, surface).toBe(1);
    }
    // The connection lives on after the refusal.
    expect(ws.socket.readyState).toBe(ws.socket.OPEN);
  });
});

describe(`graphql-ws at the entrance (${dbKind})`, () => {
  it('a syntax error is GRAPHQL_PARSE_FAILED for that operation; the connection lives on', async () => {
    const { key } = await ctx.org([Scope.CustomersRead]);
    const ws = track(await RawWs.connect(ctx.gw.url, { authorization: `Bearer ${key}` }));
    const [error] = await ws.run('1', '{ viewer { scopes }');
    expect(error).toMatchObject({ type: 'error', payload: [{ extensions: { code: GraphQLErrorCode.ParseFailed } }] });
    expect((await ws.run('2', VIEWER))[0]?.payload.data.viewer.scopes).toEqual([Scope.CustomersRead]);
  });

  it('an operation the document does not name is OPERATION_RESOLUTION_FAILURE (not an uncoded error)', async () => {
    const { key } = await ctx.org([Scope.CustomersRead]);
    const ws = track(await RawWs.connect(ctx.gw.url, { authorization: `Bearer ${key}` }));
    const [named] = await ws.run('1', 'query A { viewer { scopes } }', { operationName: 'B' });
    expect(named).toMatchObject({ type: 'error', payload: [{ extensions: { code: GraphQLErrorCode.OperationResolutionFailure } }] });
    const [several] = await ws.run('2', 'query A { viewer { scopes } } query B { viewer { scopes } }');
    expect(several).toMatchObject({ type: 'error', payload: [{ extensions: { code: GraphQLErrorCode.OperationResolutionFailure } }] });
    const [invalid] = await ws.run('3', '{ nope }');
    expect(invalid).toMatchObject({ type: 'error', payload: [{ extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }] });
  });

  it('client protocol errors (a message over the size limit) go to the logger without the payload, never to the console', async () => {
    const lines: string[] = [];
    const consoleError = vi.spyOn(console, 'error');
    const gw = await ctx.extraGateway({
      env: { WS_MAX_MESSAGE_BYTES: '1024', LOG_LEVEL: 'debug' },
      log: createLogger('debug', (l) => lines.push(l)),
    });
    const { key } = await ctx.org([Scope.CustomersRead]);
    const ws = track(await RawWs.connect(gw.url, { authorization: `Bearer ${key}` }));
    const secret = `SECRET-PAYLOAD-${'z'.repeat(2000)}`;
    ws.send({ type: 'subscribe', id: '1', payload: { query: `{ viewer { scopes } } # ${secret}` } });
    expect((await ws.closed.promise).code).toBe(WsCloseCode.MessageTooBig);
    await vi.waitFor(() => expect(lines.some((l) => l.includes('websocket protocol error'))).toBe(true));
    const line = JSON.parse(lines.find((l) => l.includes('websocket protocol error'))!);
    expect(line).toMatchObject({ level: 'debug', requestId: expect.any(String) });
    expect(lines.join('\n')).not.toContain('SECRET-PAYLOAD');
    expect(consoleError).not.toHaveBeenCalled();
    consoleError.mockRestore();
  });

  it('key verification on a database that cannot be reached: closed with 1013 and a fixed reason, nothing internal', async () => {
    const unreachable = await openDatabase({
      kind: 'postgres',
      url: 'postgresql://postgres@127.0.0.1:1/none',
      poolSize: 1,
      connectTimeoutMs: 500,
    });
    const down = await startGateway(unreachable);
    try {
      const ws = track(await RawWs.open(down.url));
      ws.send({ type: 'connection_init', payload: { authorization: `Bearer ${BAD_KEY}` } });
      const closed = await ws.closed.promise;
      expect(closed.code).toBe(WsCloseCode.TryAgainLater);
      expect(closed.reason).toBe('Try again later: the service is temporarily unavailable');
      // GraphQL over HTTP and REST: 503 with the same failure.
      expect((await down.gql(BAD_KEY, VIEWER)).status).toBe(503);
      expect((await rest(down.url, BAD_KEY, 'GET', '/api/v1/customers')).status).toBe(503);
    } finally {
      await down.close();
      await unreachable.close();
    }
  });

  it.runIf(!onPostgres)('a rate-limit lease on a lost database is UNAVAILABLE for that operation, never a raw error', async () => {
    const pglite = new PGlite();
    const db = await openDatabase({ kind: 'memory', pglite });
    await applyMigrations(db.adapterFactory);
    const gw = await startGateway(db, { env: { API_KEY_CACHE_MS: '1000' } });
    try {
      // 20 a minute: a lease of one token per operation, so the next operation needs the database.
      const { key } = await issueKey(db, uniqueOrg(), [Scope.CustomersRead], { perMinute: 20 });
      const ws = track(await RawWs.connect(gw.url, { authorization: `Bearer ${key}` }));
      expect((await ws.run('1', VIEWER))[0]?.type).toBe('next');
      await pglite.close();
      const [refused] = await ws.run('2', VIEWER);
      expect(refused).toMatchObject({ type: 'error', payload: [{ extensions: { code: GraphQLErrorCode.Unavailable } }] });
      expect(JSON.stringify(refused)).not.toMatch(/PGlite|closed|prisma/i);
    } finally {
      await gw.close();
      await db.close().catch(() => {});
    }
  });
});

describe(`GraphQL over HTTP: a request we failed entirely is a 5xx (${dbKind})`, () => {
  it('a failure before execution (no data) answers 500 for both media types, masked, logged with the request id', async () => {
    const broken = await createTestDatabase(2);
    const lines: string[] = [];
    const gw = await startGateway(broken.db, { log: createLogger('error', (l) => lines.push(l)) });
    try {
      const { key } = await issueKey(broken.db, uniqueOrg(), [Scope.CustomersRead]);
      // Key verification reads api_keys and organizations: without the table it fails, and not for a lost connection.
      await broken.db.prisma.$executeRawUnsafe('ALTER TABLE organizations RENAME TO organizations_gone');
      for (const accept of ['application/json', 'application/graphql-response+json']) {
        const res = await fetch(`${gw.url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept, authorization: `Bearer ${key}` },
          body: JSON.stringify({ query: VIEWER }),
        });
        const body = (await res.json()) as { data?: unknown; errors: { message: string; extensions: Record<string, unknown> }[] };
        expect(res.status, accept).toBe(500);
        expect(body.data).toBeUndefined();
        expect(body.errors).toEqual([
          { message: 'Unexpected error.', extensions: { code: GraphQLErrorCode.Internal, requestId: res.headers.get('x-request-id') } },
        ]);
        expect(JSON.stringify(body)).not.toMatch(/organizations|relation|prisma/i);
        expect(lines.some((l) => l.includes(res.headers.get('x-request-id')!) && l.includes('unexpected error'))).toBe(true);
      }
    } finally {
      await gw.close();
      await broken.close();
    }
  });
});

// API keys (SPEC section 2): format, hashing at rest, verification with a short cache,
// revocation and expiry, and the GraphQL authentication errors.
import { describe, expect, it } from 'vitest';
import { ApiKeyVerifier, hashKey, isWellFormedKey, listApiKeys, revokeApiKey } from '../src/auth/api-keys.js';
import { Scope } from '../src/auth/scopes.js';
import { deferred } from './helpers/deferred.js';
import { dbKind } from './helpers/db.js';
import { useGateway } from './helpers/fixture.js';
import { Clients } from './helpers/subscriptions.js';

describe(`API keys (${dbKind})`, () => {
  const ctx = useGateway({ poolSize: 4 });

  it('issues ic_live_ keys of ≥ 192 bits and stores only the hash, prefix and last 4', async () => {
    const { key, id, name: org } = await ctx.org([Scope.CustomersRead]);
    expect(key).toMatch(/^ic_live_[A-Za-z0-9_-]{43}$/);
    expect(isWellFormedKey(key)).toBe(true);
    const row = await ctx.db.prisma.apiKey.findUniqueOrThrow({ where: { id } });
    expect(row.keyHash).toBe(hashKey(key));
    expect(row.keyHash).toMatch(/^[0-9a-f]{64}$/);
    expect(row.prefix).toBe(key.slice(0, 12));
    expect(row.last4).toBe(key.slice(-4));
    expect(JSON.stringify(row)).not.toContain(key.slice(12, -4));
    const listed = await listApiKeys(ctx.db.prisma, org);
    expect(listed).toHaveLength(1);
    expect(JSON.stringify(listed)).not.toContain(key);
  });

  it('verifies a key and caches it: repeated checks cost no database round trip', async () => {
    const { key, orgId } = await ctx.org([Scope.CustomersRead, Scope.AmlRead]);
    const verifier = new ApiKeyVerifier(ctx.db.prisma, 500);
    const statements: string[] = [];
    const stop = ctx.db.onQuery((sql) => statements.push(sql));
    try {
      const first = await verifier.verify(key);
      expect(first).toMatchObject({ orgId, scopes: [Scope.CustomersRead, Scope.AmlRead] });
      const afterFirst = statements.filter((s) => s.includes('api_keys') && /SELECT/i.test(s)).length;
      for (let i = 0; i < 20; i++) expect(await verifier.verify(key)).not.toBeNull();
      const afterMany = statements.filter((s) => s.includes('api_keys') && /SELECT/i.test(s)).length;
      expect(afterFirst).toBeGreaterThanOrEqual(1);
      expect(afterMany).toBe(afterFirst);
    } finally {
      stop();
    }
  });

  it('concurrent checks of a key whose cache entry expired share one database read', async () => {
    const { key } = await ctx.org([Scope.CustomersRead]);
    let clock = 1_000_000;
    let reads = 0;
    // The real client, with key reads counted and slowed down: checks arriving while a read is
    // in flight (as under load, in other ticks) must wait for it rather than read again.
    const prisma = new Proxy(ctx.db.prisma, {
      get(target, prop, receiver) {
        if (prop !== 'apiKey') return Reflect.get(target, prop, receiver);
        return new Proxy(target.apiKey, {
          get(apiKey, method, r) {
            if (method !== 'findUnique') return Reflect.get(apiKey, method, r);
            return async (args: Parameters<typeof apiKey.findUnique>[0]) => {
              reads += 1;
              await new Promise((resolve) => setTimeout(resolve, 30));
              return apiKey.findUnique(args);
            };
          },
        });
      },
    });
    const verifier = new ApiKeyVerifier(prisma, 500, () => clock);
    const burst = async () => {
      const checks: Promise<unknown>[] = [];
      for (let i = 0; i < 10; i++) {
        checks.push(verifier.verify(key));
        await new Promise((r) => setTimeout(r, 1));
      }
      return Promise.all(checks);
    };
    expect((await burst()).every((p) => p !== null)).toBe(true);
    expect(reads).toBe(1);
    clock += 500;
    expect((await burst()).every((p) => p !== null)).toBe(true);
    expect(reads).toBe(2);
  });

  it('rejects malformed and unknown keys', async () => {
    const verifier = new ApiKeyVerifier(ctx.db.prisma, 500);
    expect(await verifier.verify('nope')).toBeNull();
    expect(await verifier.verify('ic_live_short')).toBeNull();
    expect(await verifier.verify(`ic_live_${'a'.repeat(43)}`)).toBeNull();
  });

  it('a revoked key is rejected by the running server within one second', async () => {
    const { key, id } = await ctx.org([Scope.CustomersRead]);
    const ok = await ctx.gw.gql(key, '{ viewer { scopes } }');
    expect(ok.status).toBe(200);
    expect(await revokeApiKey(ctx.db.prisma, id)).toBe(true);
    const revokedAt = Date.now();
    let status = 200;
    while (status === 200 && Date.now() - revokedAt < 2000) {
      status = (await ctx.gw.gql(key, '{ viewer { scopes } }')).status;
    }
    const elapsed = Date.now() - revokedAt;
    expect(status).toBe(401);
    expect(elapsed).toBeLessThan(1000);
  });

  it('a revoked key closes its open WebSocket subscriptions (4401) within one second, and REST answers 401', async () => {
    const { key, id } = await ctx.org([Scope.CustomersRead]);
    const clients = new Clients();
    const closed = deferred<{ code: number; at: number }>();
    try {
      const client = clients.ws(ctx.gw.url, key, (socket) =>
        socket.addEventListener('close', (e) => closed.resolve({ code: e.code, at: Date.now() })),
      );
      const connected = deferred();
      client.on('connected', () => connected.resolve());
      clients.subscribe(client);
      await connected.promise;
      expect((await fetch(`${ctx.gw.url}/api/v1/customers`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(200);
      await revokeApiKey(ctx.db.prisma, id);
      const revokedAt = Date.now();
      const { code, at } = await closed.promise;
      expect(code).toBe(4401);
      expect(at - revokedAt).toBeLessThan(1000);
      const rest = await fetch(`${ctx.gw.url}/api/v1/customers`, { headers: { authorization: `Bearer ${key}` } });
      expect(rest.status).toBe(401);
      expect(((await rest.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
    } finally {
      await clients.closeAll();
    }
  });

  it('an expired key stops working at its expiry (injectable clock)', async () => {
    let now = Date.now();
    const { key } = await ctx.org([Scope.CustomersRead], { expiresAt: new Date(now + 60_000) });
    const verifier = new ApiKeyVerifier(ctx.db.prisma, 500, () => now);
    expect(await verifier.verify(key)).not.toBeNull();
    now += 60_000;
    expect(await verifier.verify(key)).toBeNull();
  });

  it('GraphQL: no key → UNAUTHENTICATED with HTTP 401 on data fields; introspection still works', async () => {
    const res = await ctx.gw.gql(null, '{ viewer { scopes } }');
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
    expect(res.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const intro = await ctx.gw.gql(null, '{ __schema { queryType { name } } }');
    expect(intro.status).toBe(200);
    expect(intro.body.data).toEqual({ __schema: { queryType: { name: 'Query' } } });
  });

  it('GraphQL: a wrong, unknown or malformed key → UNAUTHENTICATED with HTTP 401', async () => {
    for (const header of ['Bearer ic_live_unknownunknownunknownunknownunknown', 'Basic abc', 'Bearer']) {
      const res = await fetch(`${ctx.gw.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: header },
        body: JSON.stringify({ query: '{ viewer { scopes } }' }),
      });
      const body = (await res.json()) as { errors: { extensions: { code: string } }[] };
      expect(res.status, header).toBe(401);
      expect(body.errors[0]?.extensions.code).toBe('UNAUTHENTICATED');
    }
  });

  it('GraphQL: a key without the scope → FORBIDDEN', async () => {
    const { key } = await ctx.org([Scope.AmlRead]);
    const res = await ctx.gw.gql(key, '{ customers(first: 1) { edges { cursor } } }');
    expect(res.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(res.body.data).toEqual({ customers: null }); // the field is null; the other fields of a request still resolve
    const viewer = await ctx.gw.gql(key, '{ viewer { organization { name } scopes } }');
    expect(viewer.body.data?.viewer.scopes).toEqual([Scope.AmlRead]);
  });
});

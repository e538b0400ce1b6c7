// GET /readyz (SPEC section 12) with named checks: database (a bounded statement, cached for a
// second so that a flood of probes costs one query), migrations (every shipped one applied),
// listener (the LISTEN connection; idle before the first subscriber is fine) and accepting
// (fails from SIGTERM: test/shutdown.test.ts). On a throw-away PostgreSQL cluster: 503 naming
// the database while it is down, 200 again once it is back, without a restart.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Scope } from '../src/auth/scopes.js';
import type { Database } from '../src/db/client.js';
import { openMigratedDatabase } from '../src/db/open.js';
import { DATABASE_PROBE_CACHE_MS } from '../src/ops/health.js';
import { createTestDatabase, dbKind, onPostgres } from './helpers/db.js';
import { useGateway } from './helpers/fixture.js';
import { issueKey, startGateway, uniqueOrg, type TestGateway } from './helpers/gateway.js';
import { createPgCluster, type PgCluster } from './helpers/pg-cluster.js';
import { Clients, subscribersAtLeast } from './helpers/subscriptions.js';

const ctx = useGateway();

async function readyz(url: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${url}/readyz`);
  return { status: res.status, body: await res.json() };
}

describe(`GET /readyz (${dbKind})`, () => {
  it('names every check: database, migrations, listener (idle before the first subscriber), accepting', async () => {
    expect(ctx.db.listenerStatus().state).toBe('idle');
    expect(await readyz(ctx.gw.url)).toEqual({
      status: 200,
      body: { status: 'ok', checks: { database: 'ok', migrations: 'ok', listener: 'ok', accepting: 'ok' } },
    });
  });

  it('a flood of probes costs the database one statement per cache period', async () => {
    const gw = await ctx.extraGateway();
    const statements: string[] = [];
    const stop = ctx.db.onQuery((sql) => statements.push(sql));
    try {
      const started = performance.now();
      const answers = await Promise.all(Array.from({ length: 50 }, () => readyz(gw.url)));
      const elapsed = performance.now() - started;
      expect(answers.every((a) => a.status === 200)).toBe(true);
      const probes = statements.filter((s) => s.includes('_prisma_migrations')).length;
      expect(probes).toBeGreaterThanOrEqual(1);
      expect(probes).toBeLessThanOrEqual(1 + Math.floor(elapsed / DATABASE_PROBE_CACHE_MS));
    } finally {
      stop();
    }
  });

  it('fails `migrations` when a shipped migration is not applied (a database restored from an older backup)', async () => {
    const t = await createTestDatabase(2);
    const gw = await startGateway(t.db);
    try {
      await t.db.prisma.$executeRawUnsafe(
        'DELETE FROM _prisma_migrations WHERE migration_name = (SELECT max(migration_name) FROM _prisma_migrations)',
      );
      const { status, body } = await readyz(gw.url);
      expect(status).toBe(503);
      expect(body.error).toMatchObject({ code: 'unavailable', details: { failing: ['migrations'] } });
    } finally {
      await gw.close();
      await t.close();
    }
  });
});

describe.runIf(onPostgres)('GET /readyz while PostgreSQL is down (throw-away cluster)', () => {
  let cluster: PgCluster;
  let db: Database;
  let gw: TestGateway;
  const clients = new Clients();

  beforeAll(async () => {
    cluster = await createPgCluster();
    ({ db } = await openMigratedDatabase({ kind: 'postgres', url: cluster.url, poolSize: 4, connectTimeoutMs: 1000 }));
    gw = await startGateway(db, { env: { DATABASE_CONNECT_TIMEOUT_MS: '1000' } });
  });
  afterAll(async () => {
    await clients.closeAll();
    await gw?.close();
    await db?.close();
    cluster?.destroy();
  });

  it('503 naming the database (and the LISTEN connection) while it is down, 200 again once it is back', async () => {
    // A subscriber, so that the LISTEN connection is in use.
    const { key } = await issueKey(db, uniqueOrg('ready'), [Scope.CustomersRead]);
    clients.subscribe(clients.ws(gw.url, key));
    await subscribersAtLeast(gw.services.bus, 1);
    expect((await readyz(gw.url)).status).toBe(200);

    await cluster.stop('immediate');
    const down = await vi.waitFor(
      async () => {
        const r = await readyz(gw.url);
        expect(r.body.error?.details?.failing).toEqual(expect.arrayContaining(['database', 'listener']));
        return r;
      },
      { timeout: 10_000, interval: 200 },
    );
    expect(down.status).toBe(503);
    expect(down.body.error.details.checks).toMatchObject({
      database: 'failing',
      migrations: 'failing',
      listener: 'failing',
      accepting: 'ok',
    });

    await cluster.start();
    const up = await vi.waitFor(
      async () => {
        const r = await readyz(gw.url);
        expect(r.status).toBe(200);
        return r;
      },
      { timeout: 15_000, interval: 200 },
    );
    expect(up.body.checks).toEqual({ database: 'ok', migrations: 'ok', listener: 'ok', accepting: 'ok' });
  }, 60_000);
});

// The customer write transaction's own runner (src/db/transaction.ts), beneath Prisma: commit,
// rollback, what its statements report to the query listeners, types of what it reads back, and
// (PostgreSQL) its timeout, which must end the transaction on the server and leave the pool usable.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyDatabaseError, DatabaseErrorKind } from '../src/db/errors.js';
import { Prisma } from '../src/generated/prisma/client.js';
import { createTestDatabase, dbKind, onPostgres, type TestDatabase } from './helpers/db.js';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase(2);
  await t.db.prisma.$executeRaw`CREATE TABLE wt_probe (n int PRIMARY KEY, at timestamptz, tags text[])`;
});
afterAll(() => t?.close());

const count = async () => (await t.db.prisma.$queryRaw<{ n: number }[]>`SELECT count(*)::int AS n FROM wt_probe`)[0]!.n;

describe(`Database.transaction (${dbKind})`, () => {
  it('commits what the callback wrote, reports each statement and COMMIT (not BEGIN), and reads rows back typed', async () => {
    const seen: string[] = [];
    const stop = t.db.onQuery((sql) => seen.push(sql));
    const at = new Date('2026-12-02T10:00:00.123Z');
    try {
      const rows = await t.db.transaction(
        async (tx) => {
          const inserted = await tx.$executeRaw(
            Prisma.sql`INSERT INTO wt_probe (n, at, tags) VALUES (${1}, ${at}::timestamptz, ${['a', 'b']}::text[])`,
          );
          expect(inserted).toBe(1);
          return tx.$queryRaw<{ n: number; at: Date; tags: string[] }[]>`SELECT n, at, tags FROM wt_probe WHERE n = ${1}`;
        },
        { timeoutMs: 10_000 },
      );
      expect(rows).toEqual([{ n: 1, at, tags: ['a', 'b'] }]);
    } finally {
      stop();
    }
    expect(seen).toHaveLength(3);
    expect(seen[0]).toMatch(/^INSERT INTO wt_probe/);
    expect(seen[1]).toMatch(/^SELECT n, at, tags/);
    expect(seen[2]).toBe('COMMIT');
    expect(await count()).toBe(1);
  });

  it('rolls back everything when the callback throws, and the error is the callback’s', async () => {
    const before = await count();
    const boom = new Error('after the write');
    await expect(
      t.db.transaction(
        async (tx) => {
          await tx.$executeRaw`INSERT INTO wt_probe (n) VALUES (${2})`;
          throw boom;
        },
        { timeoutMs: 10_000 },
      ),
    ).rejects.toBe(boom);
    expect(await count()).toBe(before);
  });

  it('a failing statement rolls the transaction back and keeps its SQLSTATE for db/errors.ts', async () => {
    const error = await t.db
      .transaction(
        async (tx) => {
          await tx.$executeRaw`INSERT INTO wt_probe (n) VALUES (${3})`;
          await tx.$executeRaw`INSERT INTO wt_probe (n) VALUES (${3})`;
        },
        { timeoutMs: 10_000 },
      )
      .catch((e: unknown) => e);
    expect(classifyDatabaseError(error)).toEqual({ kind: DatabaseErrorKind.RetryableRace, code: '23505' });
    expect(await t.db.prisma.$queryRaw<unknown[]>`SELECT 1 FROM wt_probe WHERE n = 3`).toEqual([]);
  });

  it.runIf(onPostgres)(
    'past its timeout the connection is dropped: the server rolls back, the caller gets "unavailable", the pool serves on',
    async () => {
      const started = performance.now();
      const error = await t.db
        .transaction(
          async (tx) => {
            await tx.$executeRaw`INSERT INTO wt_probe (n) VALUES (${4})`;
            await tx.$queryRaw`SELECT pg_sleep(5)`;
          },
          { timeoutMs: 300 },
        )
        .catch((e: unknown) => e);
      expect(performance.now() - started).toBeLessThan(3000);
      expect(classifyDatabaseError(error).kind).toBe(DatabaseErrorKind.Unavailable);
      expect(await t.db.prisma.$queryRaw<unknown[]>`SELECT 1 FROM wt_probe WHERE n = 4`).toEqual([]);
      // Both pooled connections still work (pool of 2: the dropped one was replaced).
      const ok = await Promise.all(
        [1, 2].map(() => t.db.transaction((tx) => tx.$queryRaw<{ one: number }[]>`SELECT 1 AS one`, { timeoutMs: 5000 })),
      );
      expect(ok).toEqual([[{ one: 1 }], [{ one: 1 }]]);
    },
  );
});

describe(`Database.preparedStatements (${dbKind})`, () => {
  it('answers as Database.statements does; on PostgreSQL each text is prepared once per connection and planned from then on', async () => {
    const one = await createTestDatabase(1);
    try {
      const probe = (n: number) =>
        one.db.preparedStatements.$queryRaw<{ n: number; s: string }[]>`SELECT ${n}::int AS n, ${`x${n}`}::text AS s`;
      for (let n = 0; n < 8; n++) expect(await probe(n)).toEqual([{ n, s: `x${n}` }]);
      expect(await one.db.statements.$queryRaw<{ n: number }[]>`SELECT ${3}::int AS n`).toEqual([{ n: 3 }]);
      if (!onPostgres) return;
      // One connection in the pool: the session that ran the eight probes.
      const prepared = await one.db.statements.$queryRaw<{ name: string; runs: number }[]>`
        SELECT name, (generic_plans + custom_plans)::int AS runs FROM pg_prepared_statements WHERE statement LIKE 'SELECT $1::int AS n%'`;
      expect(prepared).toEqual([{ name: expect.stringMatching(/^cg_[0-9a-f]{24}$/), runs: 8 }]);
    } finally {
      await one.close();
    }
  });
});

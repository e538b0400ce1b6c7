// Migrations apply from scratch, re-applying is a no-op, and Prisma's own history table
// records them (so `prisma migrate deploy` would see the same history).
import { readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyMigrations, diffSchemaAgainstMigrations, MIGRATIONS_DIR } from '../src/db/migrate.js';
import { openDatabase } from '../src/db/client.js';
import { openMigratedDatabase } from '../src/db/open.js';
import { createTestDatabase, dbKind, onPostgres, type TestDatabase } from './helpers/db.js';

const committed = readdirSync(MIGRATIONS_DIR, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();

describe(`migrations (${dbKind})`, () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase(2);
  });
  afterAll(() => t.close());

  it('are recorded in _prisma_migrations, one finished row per folder', async () => {
    const rows = await t.db.prisma.$queryRaw<{ migration_name: string; finished_at: Date | null }[]>`
      SELECT migration_name, finished_at FROM _prisma_migrations ORDER BY migration_name`;
    expect(rows.map((r) => r.migration_name)).toEqual(committed);
    expect(rows.every((r) => r.finished_at instanceof Date)).toBe(true);
  });

  it('re-applying is a no-op', async () => {
    if (onPostgres) {
      const again = await openMigratedDatabase({ kind: 'postgres', url: t.url!, poolSize: 1 });
      await again.db.close();
      expect(again.applied).toEqual([]);
    } else {
      expect(await applyMigrations(t.db.adapterFactory)).toEqual([]);
    }
    const rows = await t.db.prisma.$queryRaw<{ n: bigint }[]>`SELECT count(*) AS n FROM _prisma_migrations`;
    expect(Number(rows[0]?.n)).toBe(committed.length);
  });

  it('apply from scratch on an empty database', async () => {
    if (dbKind === 'postgres') {
      // The per-file database is a copy of an already-migrated template; prove the
      // from-scratch path on a database with no tables at all.
      const fresh = await t.openAnother(2);
      await fresh.prisma.$executeRawUnsafe('DROP SCHEMA public CASCADE');
      await fresh.prisma.$executeRawUnsafe('CREATE SCHEMA public');
      const migrated = await openMigratedDatabase({ kind: 'postgres', url: t.url!, poolSize: 1 });
      try {
        expect(migrated.applied).toEqual(committed);
        expect(await migrated.db.prisma.customer.count()).toBe(0);
      } finally {
        await migrated.db.close();
      }
    } else {
      const fresh = await openDatabase({ kind: 'memory' });
      try {
        expect(await applyMigrations(fresh.adapterFactory)).toEqual(committed);
        expect(await fresh.prisma.customer.count()).toBe(0);
      } finally {
        await fresh.close();
      }
    }
  });

  it.runIf(onPostgres)('several instances start on one database: migrating leaves no lock behind', async () => {
    const first = await openMigratedDatabase({ kind: 'postgres', url: t.url!, poolSize: 2 });
    try {
      await first.db.prisma.customer.count(); // the serving pool is in use
      const started = Date.now();
      const second = await openMigratedDatabase({ kind: 'postgres', url: t.url!, poolSize: 2 });
      try {
        expect(second.applied).toEqual([]);
        expect(Date.now() - started).toBeLessThan(5000);
        const locks = await t.db.prisma.$queryRaw<{ n: bigint }[]>`
          SELECT count(*) AS n FROM pg_locks l JOIN pg_database d ON d.oid = l.database
          WHERE l.locktype = 'advisory' AND d.datname = current_database()`;
        expect(Number(locks[0]?.n)).toBe(0);
      } finally {
        await second.db.close();
      }
    } finally {
      await first.db.close();
    }
  });

  // The diff replays every migration in a shadow database, an in-memory PGlite as in `npm run
  // db:migration`, whichever database the project runs on: the same work in both projects, so it
  // runs once (PGlite project). It is CPU-bound (tens of seconds on a loaded 2-core machine).
  it.skipIf(onPostgres)('schema.prisma has no change missing from prisma/migrations', { timeout: 120_000 }, async () => {
    const shadow = await openDatabase({ kind: 'memory' });
    try {
      expect(await diffSchemaAgainstMigrations(shadow.adapterFactory)).toBeNull();
    } finally {
      await shadow.close();
    }
  });
});

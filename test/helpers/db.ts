// A fresh, migrated database per test file: in-memory PGlite, or (postgres project) a copy
// of the run's template database on the local PostgreSQL.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { openDatabase, type Database } from '../../src/db/client.js';
import { applyMigrations } from '../../src/db/migrate.js';
import { withDatabase } from './pg-global-setup.js';

export const dbKind: 'pglite' | 'postgres' = process.env.TEST_DB_KIND === 'postgres' ? 'postgres' : 'pglite';
export const onPostgres = dbKind === 'postgres';

export interface TestDatabase {
  db: Database;
  /** Connection string of this test database (PostgreSQL only). */
  url: string | undefined;
  /** Another client on the same database with its own pool, like a second gateway instance. */
  openAnother(poolSize?: number): Promise<Database>;
  close(): Promise<void>;
}

/** Creates a migrated database for one test file. */
export async function createTestDatabase(poolSize = 10): Promise<TestDatabase> {
  if (dbKind === 'pglite') {
    const db = await openDatabase({ kind: 'memory' });
    await applyMigrations(db.adapterFactory);
    return {
      db,
      url: undefined,
      openAnother: () => {
        throw new Error('PGlite is in-process and single-connection: multi-instance tests need PostgreSQL');
      },
      close: () => db.close(),
    };
  }
  const base = process.env.TEST_DATABASE_URL!;
  const name = `cg_t_${inject('pgRun')}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}" TEMPLATE "${inject('pgTemplate')}"`);
  await admin.end();
  const url = withDatabase(base, name);
  const db = await openDatabase({ kind: 'postgres', url, poolSize });
  const others: Database[] = [];
  return {
    db,
    url,
    async openAnother(size = poolSize) {
      const other = await openDatabase({ kind: 'postgres', url, poolSize: size });
      others.push(other);
      return other;
    },
    async close() {
      await Promise.all([db.close(), ...others.map((o) => o.close())]);
      const a = new pg.Client({ connectionString: base });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).catch(() => {});
      await a.end();
    },
  };
}

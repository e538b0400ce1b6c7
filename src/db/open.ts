// Opens the database named by the configuration and brings its schema up to date.
import { mkdirSync } from 'node:fs';
import type { Config } from '../config.js';
import { openDatabase, type Database, type DatabaseTarget } from './client.js';
import { applyMigrations } from './migrate.js';

/** The database target of a configuration: PostgreSQL when DATABASE_URL is set, else embedded PGlite. */
export function targetOf(
  config: Pick<Config, 'databaseUrl' | 'dataDir' | 'databasePoolSize' | 'databaseConnectTimeoutMs'>,
): DatabaseTarget {
  return config.databaseUrl
    ? { kind: 'postgres', url: config.databaseUrl, poolSize: config.databasePoolSize, connectTimeoutMs: config.databaseConnectTimeoutMs }
    : { kind: 'pglite', dataDir: config.dataDir };
}

/** Opens the database and applies pending migrations; returns it with the names applied. */
export async function openMigratedDatabase(target: DatabaseTarget): Promise<{ db: Database; applied: string[] }> {
  if (target.kind === 'postgres') {
    // The schema engine takes Prisma's migration advisory lock (session-level) on a pooled
    // connection and leaves it there: a serving pool would then hold it for good, and every
    // other instance's start would wait on it. So migrate through a pool of its own, closed
    // (lock released) before the serving pool opens. Closing a connection releases its locks
    // only when the server's backend has exited, a moment after the client hung up, so the
    // lock is also released explicitly, on the pool's one connection, before closing it.
    const migrator = await openDatabase({ ...target, poolSize: 1 });
    let applied: string[];
    try {
      applied = await applyMigrations(migrator.adapterFactory);
      await migrator.prisma.$executeRawUnsafe('SELECT pg_advisory_unlock_all()');
    } finally {
      await migrator.close();
    }
    return { db: await openDatabase(target), applied };
  }
  if (target.kind === 'pglite') mkdirSync(target.dataDir, { recursive: true });
  const db = await openDatabase(target);
  try {
    const applied = await applyMigrations(db.adapterFactory);
    return { db, applied };
  } catch (error) {
    await db.close();
    throw error;
  }
}

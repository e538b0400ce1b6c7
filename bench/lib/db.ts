// A fresh, migrated PostgreSQL database for one benchmark run, with high-limit keys.
import pg from 'pg';
import { createApiKey } from '../../src/auth/api-keys.js';
import { ALL_SCOPES } from '../../src/auth/scopes.js';
import { openMigratedDatabase } from '../../src/db/open.js';

export interface BenchDatabase {
  url: string;
  key: string;
  orgId: string;
  drop(): Promise<void>;
}

/** The server to benchmark on: BENCH_DATABASE_URL, else DATABASE_URL, else the local one. */
export function benchServerUrl(): string {
  return process.env.BENCH_DATABASE_URL || process.env.DATABASE_URL || 'postgresql://postgres@127.0.0.1:5432/postgres';
}

export async function createBenchDatabase(): Promise<BenchDatabase> {
  const base = benchServerUrl();
  const name = `cg_bench_${process.pid}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  await admin.query(`CREATE DATABASE "${name}"`);
  const u = new URL(base);
  u.pathname = `/${name}`;
  const url = u.toString();
  const { db } = await openMigratedDatabase({ kind: 'postgres', url, poolSize: 2 });
  // Benchmarks measure throughput, not the limiter's refusals.
  const issued = await createApiKey(db.prisma, {
    org: 'bench',
    scopes: [...ALL_SCOPES],
    label: 'bench',
    perMinute: 100_000_000,
    perDay: 1_000_000_000,
  });
  await db.close();
  return {
    url,
    key: issued.key,
    orgId: issued.orgId,
    async drop() {
      await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).catch(() => {});
      await admin.end();
    },
  };
}

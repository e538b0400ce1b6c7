// What every scenario gets: the gateway under test (own process), its database, a raw-pg pool
// for baselines in the load generator, and the figures earlier scenarios of the run measured.
import pg from 'pg';
import type { BenchDatabase } from './db.js';
import type { GatewayHandle } from './gateway.js';
import type { LoadResult } from './load.js';

export interface BenchContext {
  db: BenchDatabase;
  gateway: GatewayHandle;
  /** Raw pg pool of the baselines, sized like the gateway's. */
  pool: pg.Pool;
  /** Authorization + JSON content type, with the run's all-scope key. */
  headers: Record<string, string>;
  /** Figures shared between scenarios of one run (replay reuses upsert's). */
  measured: Map<string, LoadResult>;
}

export type Scenario = (ctx: BenchContext) => Promise<void>;

/** Pool size of the gateway and of the raw-pg baseline (BENCH_POOL_SIZE, default 20). */
export const poolSize = Number(process.env.BENCH_POOL_SIZE ?? 20);

export function createPool(url: string): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max: poolSize });
  pool.on('error', () => {});
  return pool;
}

let counter = 0;
/** A tag unique within the run (and across runs: the database is fresh each time). */
export function uniqueTag(prefix: string): string {
  counter += 1;
  return `${prefix}-${process.pid}-${counter}`;
}

/**
 * Runs an HTTP load and counts, over its measured window, the statements the gateway sent per
 * request and the gateway process's CPU time per request (µs, user + system): the figure that
 * compares the surfaces' own cost when the machine's load moves the rates.
 */
export async function withStatements(
  ctx: BenchContext,
  fn: (onMeasureStart: () => Promise<void>) => Promise<LoadResult>,
): Promise<LoadResult & { statements: number; cpuPerRequest: number }> {
  let cpuAtStart = 0;
  const result = await fn(async () => {
    await ctx.gateway.resetStatements();
    cpuAtStart = await ctx.gateway.cpuMicros();
  });
  const cpu = (await ctx.gateway.cpuMicros()) - cpuAtStart;
  const { statements } = await ctx.gateway.stats();
  const requests = Math.max(1, result.total);
  return { ...result, statements: statements / requests, cpuPerRequest: cpu / requests };
}

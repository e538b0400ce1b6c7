// Forks the gateway under benchmark and talks to it over IPC.
import { closeSync, openSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GatewayStats } from '../gateway-process.js';
import { ask, forkServer, stopServer, type ServerHandle } from './fork.js';

export interface GatewayHandle extends ServerHandle {
  stats(): Promise<GatewayStats>;
}

/**
 * Where the gateway's log lines go: a file (BENCH_LOG_FILE, default in the temporary directory),
 * so that access lines (LOG_LEVEL info, as deployed) cost what they cost in production (the
 * logger writes to stderr synchronously) without flooding the report.
 */
export const BENCH_LOG_FILE = process.env.BENCH_LOG_FILE ?? join(tmpdir(), `customer-gateway-bench-${process.pid}.log`);

/** Starts the gateway on PostgreSQL `databaseUrl`, in its own process. */
export async function startGatewayProcess(databaseUrl: string, env: Record<string, string> = {}): Promise<GatewayHandle> {
  const log = openSync(BENCH_LOG_FILE, 'a');
  const { child, port } = await forkServer(
    'gateway-process.ts',
    {
      // NODE_ENV=production as deployed: graphql-js drops its cross-realm instanceof checks and
      // plugin-prisma its unused-selection tracking, both development aids.
      NODE_ENV: process.env.BENCH_NODE_ENV ?? 'production',
      DATABASE_URL: databaseUrl,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info',
      DATABASE_POOL_SIZE: '20',
      ...env,
    },
    log,
  );
  closeSync(log);
  const stats = () => ask<{ stats: GatewayStats }>(child, { type: 'stats' }, 'stats').then((m) => m.stats);
  return {
    name: 'gateway',
    port,
    url: `http://127.0.0.1:${port}`,
    stats,
    statements: () => stats().then((s) => s.statements),
    resetStatements: () => ask(child, { type: 'reset' }, 'reset').then(() => undefined),
    cpuMicros: () => ask<{ micros: number }>(child, { type: 'cpu' }, 'cpu').then((m) => m.micros),
    stop: () => stopServer(child),
  };
}

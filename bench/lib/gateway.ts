// Forks the gateway under benchmark and talks to it over IPC.
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
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

/** A gateway started as operators start it, with WEB_CONCURRENCY workers (src/cluster.ts). */
export interface ClusterHandle {
  url: string;
  stop(): Promise<void>;
}

/**
 * Starts `src/main.ts` with WEB_CONCURRENCY=`workers` on PostgreSQL `databaseUrl` (same settings
 * as the benchmarked single process: production mode, access lines into BENCH_LOG_FILE) and
 * resolves once every worker listens. No statement counts: the workers have no IPC to the bench.
 */
export async function startClusterGateway(databaseUrl: string, workers: number, env: Record<string, string> = {}): Promise<ClusterHandle> {
  const log = openSync(BENCH_LOG_FILE, 'a');
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    env: {
      ...process.env,
      NODE_ENV: process.env.BENCH_NODE_ENV ?? 'production',
      DATABASE_URL: databaseUrl,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info',
      WEB_CONCURRENCY: String(workers),
      ...env,
    },
    stdio: ['ignore', 'pipe', log],
  });
  closeSync(log);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on http:\/\/localhost:(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    void exited.then(() => reject(new Error(`the ${workers}-worker gateway exited before listening (log: ${BENCH_LOG_FILE})`)));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    async stop() {
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 30_000).unref();
      await exited;
    },
  };
}

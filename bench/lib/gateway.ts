// Forks the gateway under benchmark and talks to it over IPC.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { GatewayRequest, GatewayStats } from '../gateway-process.js';

export interface GatewayHandle {
  url: string;
  port: number;
  stats(): Promise<GatewayStats>;
  resetStatements(): Promise<void>;
  stop(): Promise<void>;
}

function ask<T>(child: ChildProcess, request: GatewayRequest, reply: string): Promise<T> {
  return new Promise((resolve) => {
    const on = (msg: { type: string } & Record<string, unknown>) => {
      if (msg.type !== reply) return;
      child.off('message', on);
      resolve(msg as T);
    };
    child.on('message', on);
    child.send(request);
  });
}

/** Starts the gateway on PostgreSQL `databaseUrl`, in its own process. */
export async function startGatewayProcess(databaseUrl: string, env: Record<string, string> = {}): Promise<GatewayHandle> {
  const script = fileURLToPath(new URL('../gateway-process.ts', import.meta.url));
  // BENCH_CPU_PROF=<dir> writes a V8 CPU profile of the gateway there when it stops
  // (summarise it with bench/tools/profile-summary.ts).
  const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF] : [];
  const child = fork(script, [], {
    // BENCH_NODE_FLAGS adds V8/Node flags to the gateway (e.g. --max-semi-space-size=32).
    execArgv: [
      '--import',
      'tsx',
      '--expose-gc',
      '--max-old-space-size=4096',
      ...profile,
      ...(process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean),
    ],
    // NODE_ENV=production as deployed: graphql-js drops its cross-realm instanceof checks and
    // plugin-prisma its unused-selection tracking, both development aids.
    env: {
      ...process.env,
      NODE_ENV: process.env.BENCH_NODE_ENV ?? 'production',
      DATABASE_URL: databaseUrl,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'error',
      DATABASE_POOL_SIZE: '20',
      ...env,
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`gateway exited with ${code}`)));
    child.on('message', (msg: { type: string; port?: number }) => {
      if (msg.type === 'ready') resolve(msg.port!);
    });
  });
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    stats: () => ask<{ stats: GatewayStats }>(child, { type: 'stats' }, 'stats').then((m) => m.stats),
    resetStatements: () => ask(child, { type: 'reset' }, 'reset').then(() => undefined),
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.send({ type: 'stop' });
        setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
      }),
  };
}

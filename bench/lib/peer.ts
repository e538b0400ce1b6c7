// Forks the PostGraphile peer (bench/peer-process.ts) over the bench's database.
import { readFileSync } from 'node:fs';
import { ask, forkServer, stopServer, type ServerHandle } from './fork.js';

/** "PostGraphile <version>", the version installed (its package exports no package.json). */
export const PEER_NAME = `PostGraphile ${
  (JSON.parse(readFileSync(new URL('../../node_modules/postgraphile/package.json', import.meta.url), 'utf8')) as { version: string })
    .version
}`;

/** Starts PostGraphile on PostgreSQL `databaseUrl`, in its own process, with a pool of `poolSize`. */
export async function startPeerProcess(databaseUrl: string, poolSize: number): Promise<ServerHandle> {
  const { child, port } = await forkServer('peer-process.ts', {
    // Production mode as deployed: PostGraphile's GRAPHILE_ENV, and NODE_ENV for graphql-js.
    NODE_ENV: 'production',
    GRAPHILE_ENV: 'production',
    PEER_DATABASE_URL: databaseUrl,
    PEER_POOL_SIZE: String(poolSize),
  });
  return {
    name: PEER_NAME,
    port,
    url: `http://127.0.0.1:${port}`,
    statements: () => ask<{ statements: number }>(child, { type: 'stats' }, 'stats').then((m) => m.statements),
    resetStatements: () => ask(child, { type: 'reset' }, 'reset').then(() => undefined),
    cpuMicros: () => ask<{ micros: number }>(child, { type: 'cpu' }, 'cpu').then((m) => m.micros),
    stop: () => stopServer(child),
  };
}

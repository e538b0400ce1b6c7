// Process entry: configuration, database, migrations, demo key on a fresh embedded database,
// server, and a graceful shutdown on SIGTERM/SIGINT (SPEC section 9): readiness fails, the
// listener stops accepting, accepted requests are answered in full, then the services and the
// pool close and the process exits 0, all within SHUTDOWN_TIMEOUT_MS. Run compiled by
// `npm start` (scripts/start.mjs), so the signal reaches this process directly.
import { createApiKey } from './auth/api-keys.js';
import { ALL_SCOPES } from './auth/scopes.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import type { Database } from './db/client.js';
import { openMigratedDatabase, targetOf } from './db/open.js';
import { startServer } from './server.js';
import { createServices } from './services.js';

export const DEMO_ORG = 'demo';

/** On first start of an empty embedded database: a demo organisation and one all-scope key. */
async function seedDemo(db: Database): Promise<string | null> {
  if ((await db.prisma.organization.count()) > 0) return null;
  const issued = await createApiKey(db.prisma, {
    org: DEMO_ORG,
    scopes: [...ALL_SCOPES],
    label: 'demo key (created on first start)',
    perMinute: 100_000,
    perDay: 10_000_000,
  });
  return issued.key;
}

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(2);
    }
    throw error;
  }
  const target = targetOf(config);
  const { db, applied } = await openMigratedDatabase(target);
  const services = createServices(config, db);
  services.log.info('database ready', { kind: db.kind, migrationsApplied: applied });
  const demoKey = target.kind === 'pglite' ? await seedDemo(db) : null;
  const server = await startServer(services);
  const base = `http://localhost:${server.port}`;
  console.log(`customer-gateway listening on ${base} (GraphiQL at ${base}/graphql, REST at ${base}/api/v1)`);
  console.log(`Compliance dashboard: ${base}/dashboard (sign in with an API key that has customers:read)`);
  if (demoKey) {
    console.log(`\nDemo organisation "${DEMO_ORG}" created. Its API key (shown once, every scope):\n\n  ${demoKey}\n`);
    console.log(`Use it as the header  Authorization: Bearer ${demoKey}\n`);
  }

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    const { shutdownTimeoutMs } = config;
    // Whatever hangs, the process is gone within the timeout.
    setTimeout(() => {
      services.log.error('shutdown did not finish within SHUTDOWN_TIMEOUT_MS; exiting', { shutdownTimeoutMs });
      process.exit(1);
    }, shutdownTimeoutMs).unref();
    services.log.info('shutting down: draining connections', { signal, shutdownTimeoutMs });
    try {
      // Connections get the timeout minus a reserve for closing the services and the pool.
      await server.close({ graceful: true, timeoutMs: shutdownTimeoutMs - closeReserveMs(shutdownTimeoutMs) });
      await services.close();
      await db.close();
    } catch (error) {
      services.log.error('shutdown failed', { error: String(error instanceof Error ? error.stack : error) });
      process.exit(1);
    }
    services.log.info('shut down');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

/** Time kept, out of SHUTDOWN_TIMEOUT_MS, to close the services and the database pool after the drain. */
function closeReserveMs(shutdownTimeoutMs: number): number {
  return Math.min(2000, Math.floor(shutdownTimeoutMs / 5));
}

main().catch((error) => {
  console.error('customer-gateway failed to start:', error instanceof Error ? error.message : error);
  process.exit(1);
});

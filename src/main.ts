// Process entry: configuration, database, migrations, demo key on a fresh embedded database,
// server, and a graceful shutdown on SIGTERM/SIGINT (SPEC section 9): readiness fails, the
// listener stops accepting, accepted requests are answered in full, then the services and the
// pool close and the process exits 0, all within SHUTDOWN_TIMEOUT_MS. Run compiled by
// `npm start` (scripts/start.mjs), so the signal reaches this process directly.
// WEB_CONCURRENCY > 1 on PostgreSQL: this process becomes the primary of a cluster of that many
// gateway processes on one port (src/cluster.ts), each of them running serve() below.
import { createApiKey } from './auth/api-keys.js';
import { isClusterWorker, joinCluster, runPrimary } from './cluster.js';
import { ALL_SCOPES } from './auth/scopes.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import type { Database } from './db/client.js';
import { openMigratedDatabase, targetOf } from './db/open.js';
import { createLogger } from './ops/logger.js';
import { shutDown } from './shutdown.js';
import { startTracing } from './ops/tracing.js';
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
  const worker = isClusterWorker();
  const log = createLogger(config.logLevel);
  const banner = (port: number) => {
    const base = `http://localhost:${port}`;
    console.log(`customer-gateway listening on ${base} (GraphiQL at ${base}/graphql, REST at ${base}/api/v1)`);
    console.log(`Compliance dashboard: ${base}/dashboard (sign in with an API key that has customers:read)`);
  };
  if (!worker && config.webConcurrency > 1) {
    if (target.kind === 'postgres') return runPrimary(config, log, banner);
    log.warn(
      { webConcurrency: config.webConcurrency },
      'WEB_CONCURRENCY ignored: the embedded PGlite database lives inside one process and cannot be shared; running 1 process (set DATABASE_URL for several)',
    );
  }
  // Before the database opens, so that its statements are traced from the first one.
  const tracing = await startTracing(config, log);
  const { db, applied } = await openMigratedDatabase(target);
  const services = createServices(config, db, { log });
  services.log.info({ kind: db.kind, migrationsApplied: applied }, 'database ready');
  const demoKey = target.kind === 'pglite' ? await seedDemo(db) : null;
  // A worker leaves METRICS_PORT to the primary, which serves every worker's metrics there.
  const server = await startServer(services, { tracing, metricsListener: !worker });
  if (worker) joinCluster(server.metrics.registry);
  else banner(server.port);
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
      services.log.error({ shutdownTimeoutMs }, 'shutdown did not finish within SHUTDOWN_TIMEOUT_MS; exiting');
      process.exit(1);
    }, shutdownTimeoutMs).unref();
    services.log.info({ signal, shutdownTimeoutMs }, 'shutting down: draining connections');
    try {
      await shutDown({ server, services, db, tracing }, shutdownTimeoutMs);
    } catch (error) {
      services.log.error({ err: error }, 'shutdown failed');
      process.exit(1);
    }
    services.log.info('shut down');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  // A worker whose primary is gone (killed outright) drains and exits rather than serve orphaned.
  if (worker) process.on('disconnect', () => void stop('primary gone'));
}

main().catch((error) => {
  console.error('customer-gateway failed to start:', error instanceof Error ? error.message : error);
  process.exit(1);
});

// Process entry: configuration, database, migrations, demo key on a fresh embedded database,
// server, and a clean shutdown on SIGTERM/SIGINT (stop accepting, drain, close the pool).
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
  if (demoKey) {
    console.log(`\nDemo organisation "${DEMO_ORG}" created. Its API key (shown once, every scope):\n\n  ${demoKey}\n`);
    console.log(`Use it as the header  Authorization: Bearer ${demoKey}\n`);
  }

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    services.log.info('shutting down', { signal });
    await server.close();
    await services.close();
    await db.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((error) => {
  console.error('customer-gateway failed to start:', error instanceof Error ? error.message : error);
  process.exit(1);
});

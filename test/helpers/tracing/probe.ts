// A gateway process for the tracing test: starts like src/main.ts (tracing from the
// environment, before the database), serves one GraphQL request and one REST request, flushes
// the spans, and prints the OpenTelemetry modules it loaded as one JSON line.
import { loadConfig } from '../../../src/config.js';
import { openDatabase } from '../../../src/db/client.js';
import { applyMigrations } from '../../../src/db/migrate.js';
import { createLogger } from '../../../src/ops/logger.js';
import { startTracing } from '../../../src/ops/tracing.js';
import { startServer } from '../../../src/server.js';
import { createServices } from '../../../src/services.js';
import { createApiKey } from '../../../src/auth/api-keys.js';

const config = loadConfig({ ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', WEBHOOK_CONCURRENCY: '0' });
const log = createLogger(config.logLevel);
const tracing = await startTracing(config, log);
const db = await openDatabase({ kind: 'memory' });
await applyMigrations(db.adapterFactory);
const services = createServices(config, db, { log });
const server = await startServer(services, { tracing });
const { key } = await createApiKey(db.prisma, { org: 'tracing', scopes: ['customers:read'] });
const gql = await fetch(`${server.url}/graphql`, {
  method: 'POST',
  headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
  body: JSON.stringify({ query: 'query Probe { customers(first: 1) { totalCount } }' }),
});
const restAnswer = await fetch(`${server.url}/api/v1/customers`, { headers: { authorization: `Bearer ${key}` } });
await server.close();
await services.close();
await db.close();
await tracing.shutdown();
const loaded = [...((globalThis as { __loadedModules?: Set<string> }).__loadedModules ?? [])].filter((u) =>
  /@opentelemetry|@prisma\/instrumentation|@envelop\/opentelemetry/.test(u),
);
console.log(JSON.stringify({ graphql: gql.status, rest: restAnswer.status, loaded }));

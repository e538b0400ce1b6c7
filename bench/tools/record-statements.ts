// Prints the SQL statements the gateway sends for one REST upsert, one GraphQL upsert, one
// replay and one dashboard page, so that the raw-pg baselines replay the same sequence.
// Run: npx tsx bench/tools/record-statements.ts
import { loadConfig } from '../../src/config.js';
import { openDatabase } from '../../src/db/client.js';
import { startServer } from '../../src/server.js';
import { createServices } from '../../src/services.js';
import { createBenchDatabase } from '../lib/db.js';
import { dashboardQuery, UPSERT_MUTATION, upsertBody } from '../lib/requests.js';
import { schemaHasStatusHistory } from '../scenarios/dashboard.js';

const bench = await createBenchDatabase();
const db = await openDatabase({ kind: 'postgres', url: bench.url, poolSize: 4 });
const services = createServices(loadConfig({ ...process.env, DATABASE_URL: bench.url, LOG_LEVEL: 'warn' }), db);
const server = await startServer(services, { port: 0, host: '127.0.0.1' });
let log: string[] = [];
db.onQuery((sql) => log.push(sql.replace(/\s+/g, ' ').trim()));
const headers = { authorization: `Bearer ${bench.key}`, 'content-type': 'application/json' };
const show = (title: string) => {
  console.log(`\n## ${title} (${log.length} statements)`);
  for (const s of log) console.log(`  ${process.env.FULL ? s : s.length > 400 ? `${s.slice(0, 400)}…` : s}`);
  log = [];
};
try {
  // Warm the key cache and the rate-limit lease first, so only the request's own work shows.
  await fetch(`${server.url}/api/v1/customers?limit=1`, { headers });
  log = [];
  const rest = await fetch(`${server.url}/api/v1/customers`, {
    method: 'POST',
    headers: { ...headers, 'idempotency-key': 'rec-1' },
    body: JSON.stringify(upsertBody('rec-1')),
  });
  console.log('REST status', rest.status);
  show('REST upsert, fresh key');
  await fetch(`${server.url}/api/v1/customers`, {
    method: 'POST',
    headers: { ...headers, 'idempotency-key': 'rec-1' },
    body: JSON.stringify(upsertBody('rec-1')),
  });
  show('REST upsert, replay');
  const gql = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ query: UPSERT_MUTATION, variables: { input: upsertBody('rec-2'), key: 'rec-2' } }),
  });
  console.log('GraphQL', (await gql.text()).slice(0, 200));
  show('GraphQL upsert, fresh key');
  const page = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ query: dashboardQuery(schemaHasStatusHistory()) }),
  });
  console.log('dashboard', (await page.text()).slice(0, 200));
  show('GraphQL dashboard page');
} finally {
  await server.close();
  await services.close();
  await db.close();
  await bench.drop();
}

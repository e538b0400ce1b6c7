// A gateway process under one load only, GraphQL or REST idempotent replays (scenario 2's
// requests), so that its CPU profile shows one surface's per-request cost with nothing else mixed
// in. Run: BENCH_CPU_PROF=<dir> npx tsx bench/tools/replay-profile.ts graphql|rest
// then npx tsx bench/tools/profile-summary.ts <dir>/<the larger profile> 40.
import { createPool, poolSize, uniqueTag } from '../lib/context.js';
import { createBenchDatabase } from '../lib/db.js';
import { startGatewayProcess } from '../lib/gateway.js';
import { httpLoad } from '../lib/load.js';
import { UPSERT_MUTATION, upsertBody } from '../lib/requests.js';

const surface = process.argv[2];
if (surface !== 'graphql' && surface !== 'rest') throw new Error('usage: replay-profile graphql|rest');
const db = await createBenchDatabase();
const pool = createPool(db.url);
const gateway = await startGatewayProcess(db.url, { DATABASE_POOL_SIZE: String(poolSize) });
try {
  const headers = { authorization: `Bearer ${db.key}`, 'content-type': 'application/json' };
  const tag = uniqueTag(`replay-${surface}`);
  const request =
    surface === 'rest'
      ? { url: `${gateway.url}/api/v1/customers`, headers: { ...headers, 'idempotency-key': tag }, body: JSON.stringify(upsertBody(tag)) }
      : {
          url: `${gateway.url}/graphql`,
          headers,
          body: JSON.stringify({ query: UPSERT_MUTATION, variables: { input: upsertBody(tag), key: tag } }),
        };
  await fetch(request.url, { method: 'POST', headers: request.headers, body: request.body });
  let cpuAtStart = 0;
  const result = await httpLoad({ ...request, method: 'POST' }, async () => {
    cpuAtStart = await gateway.cpuMicros();
  });
  const cpu = (await gateway.cpuMicros()) - cpuAtStart;
  console.log(
    `${surface} replay: ${Math.round(result.rps)} req/s, ${Math.round(cpu / Math.max(1, result.total))} µs CPU/request, errors ${result.errors}`,
  );
} finally {
  await gateway.stop();
  await pool.end();
  await db.drop();
}

// `npm run bench [-- upsert replay dashboard fanout peer]`: runs the scenarios (all by default)
// against one fresh PostgreSQL database and one gateway process, prints each figure with its
// ratio to the baseline measured in the same run, then a Markdown summary. The database is
// dropped and every process stopped whatever happens.
import { cpus, totalmem } from 'node:os';
import { createPool, poolSize, type BenchContext, type Scenario } from './lib/context.js';
import { benchServerUrl, createBenchDatabase } from './lib/db.js';
import { startGatewayProcess, type GatewayHandle } from './lib/gateway.js';
import { connections, durationSeconds, warmupSeconds, type LoadResult } from './lib/load.js';
import { summary } from './lib/report.js';
import { dashboardScenario } from './scenarios/dashboard.js';
import { fanoutScenario } from './scenarios/fanout.js';
import { peerScenario } from './scenarios/peer.js';
import { replayScenario } from './scenarios/replay.js';
import { upsertScenario } from './scenarios/upsert.js';

const scenarios: Record<string, Scenario> = {
  upsert: upsertScenario,
  replay: replayScenario,
  dashboard: dashboardScenario,
  fanout: fanoutScenario,
  peer: peerScenario,
  webhooks: (ctx) => import('./scenarios/webhooks.js').then((m) => m.webhooksScenario(ctx)),
};

const asked = process.argv.slice(2);
const unknown = asked.filter((name) => !(name in scenarios));
if (unknown.length) {
  console.error(`unknown scenario(s): ${unknown.join(', ')}; known: ${Object.keys(scenarios).join(', ')}`);
  process.exit(2);
}
const selected = asked.length ? asked : Object.keys(scenarios);

console.log(`customer-gateway benchmark, ${new Date().toISOString()}`);
console.log(
  `machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB; node ${process.version}`,
);
console.log(
  `PostgreSQL ${benchServerUrl().replace(/\/\/[^@]*@/, '//')}; ${durationSeconds} s per measurement after ${warmupSeconds} s warm-up; ${connections} clients; pool ${poolSize}`,
);

const db = await createBenchDatabase();
const pool = createPool(db.url);
let gateway: GatewayHandle | undefined;
let failed = false;
try {
  const measured = new Map<string, LoadResult>();
  for (const name of selected) {
    // A fresh gateway process per scenario: each starts from the same state (no garbage or
    // caches of the previous load), and the fan-out's memory per subscriber is a clean delta.
    // The previous one is stopped first, so that two gateways never share the cores.
    await gateway?.stop();
    gateway = undefined;
    gateway = await startGatewayProcess(db.url, { DATABASE_POOL_SIZE: String(poolSize) });
    const ctx: BenchContext = {
      db,
      gateway,
      pool,
      headers: { authorization: `Bearer ${db.key}`, 'content-type': 'application/json' },
      measured,
    };
    await scenarios[name]!(ctx);
  }
  console.log(`\n${summary()}`);
} catch (error) {
  failed = true;
  console.error(error);
} finally {
  for (const step of [() => gateway?.stop(), () => pool.end(), () => db.drop()]) {
    await Promise.resolve()
      .then(step)
      .catch((error: unknown) => console.error('cleanup:', error));
  }
}
process.exit(failed ? 1 : 0);

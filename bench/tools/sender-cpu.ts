// The webhook sender's own CPU per delivery, without the write path around it: N customer
// events are written at once to a fresh database, one endpoint receives them all (a counting
// receiver in a process of its own), and this process's CPU time (the gateway's services, its
// sender included, nothing else) is divided by the deliveries. A stable figure to optimise the
// sender against: it does not move with the machine's load the way a throughput ratio does.
// Run: npx tsx bench/tools/sender-cpu.ts [events=20000]
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config.js';
import { openMigratedDatabase } from '../../src/db/open.js';
import { createLogger } from '../../src/ops/logger.js';
import { toPublicCustomer } from '../../src/projection/customer.js';
import { createServices } from '../../src/services.js';
import { createBenchDatabase } from '../lib/db.js';
import { readCpu, cpuSpent } from '../lib/cpu.js';

const N = Number(process.argv[2] ?? 20_000);

if (process.argv[2] === 'receiver') {
  const { startCountingReceiver } = await import('../lib/receiver.js');
  const r = await startCountingReceiver();
  process.send!({ port: r.port });
  setInterval(() => process.send!({ received: r.received() }), 200);
} else {
  const bench = await createBenchDatabase();
  const child = fork(fileURLToPath(import.meta.url), ['receiver'], { execArgv: ['--import', 'tsx'] });
  const port = await new Promise<number>((resolve) => child.once('message', (m: { port: number }) => resolve(m.port)));
  Object.assign(process.env, {
    DATABASE_URL: bench.url,
    WEBHOOK_ALLOW_INSECURE: 'true',
    WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
    LOG_LEVEL: 'warn',
  });
  const config = loadConfig();
  const { db } = await openMigratedDatabase({ kind: 'postgres', url: bench.url, poolSize: 20 });
  const services = createServices(config, db, { log: createLogger('warn') });
  const created = await services.webhooks.endpoints.create(bench.orgId, {
    url: `http://127.0.0.1:${port}/in`,
    events: ['customer.created'],
  });
  if (!created.ok) throw new Error(JSON.stringify(created));
  const c = await db.prisma.customer.create({
    data: { orgId: bench.orgId, fullName: 'Ada Lovelace', email: 'ada@example.com', emailKey: 'ada@example.com', externalId: 'ada-1' },
  });
  const snapshot = JSON.stringify(toPublicCustomer(c));
  let delivered = 0;
  services.webhooks.sender!.monitor.on('recorded', (_id, n) => (delivered += n));
  const io = () => Number(/syscw: (\d+)/.exec(readFileSync('/proc/self/io', 'utf8'))?.[1] ?? 0);
  const writes0 = io();
  const cpu0 = process.cpuUsage();
  const other0 = readCpu();
  const t0 = performance.now();
  await db.prisma.$executeRaw`
    INSERT INTO customer_events (org_id, customer_id, kind, snapshot, actor_kind)
    SELECT ${bench.orgId}::uuid, ${c.id}::uuid, 'CREATED', ${snapshot}::jsonb, 'SYSTEM' FROM generate_series(1, ${N})`;
  while (delivered < N) await new Promise((resolve) => setTimeout(resolve, 20));
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const writes = io() - writes0;
  const other = cpuSpent(other0, readCpu());
  console.log(
    `${N} deliveries in ${seconds.toFixed(1)} s: sender process ${((cpu.user + cpu.system) / N).toFixed(1)} µs per delivery ` +
      `(user ${(cpu.user / N).toFixed(1)}, system ${(cpu.system / N).toFixed(1)}), PostgreSQL ${other.postgres === null ? 'n/a' : (other.postgres / N).toFixed(1)} µs; ${(writes / N).toFixed(3)} write system calls per delivery`,
  );
  child.kill();
  await services.close();
  await db.close();
  await bench.drop();
  process.exit(0);
}

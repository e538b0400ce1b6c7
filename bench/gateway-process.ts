// The gateway under benchmark, in its own process (forked by bench/lib/gateway.ts). Same
// start-up and shutdown as src/main.ts against PostgreSQL (metrics and access logs on, logs to
// stderr, which bench/lib/gateway.ts sends to a file), plus an IPC channel through which the
// load generator asks for the statement count, the memory in use (after a GC) and the CPU time used.
import { loadConfig } from '../src/config.js';
import { openMigratedDatabase, targetOf } from '../src/db/open.js';
import { createLogger } from '../src/ops/logger.js';
import { startTracing } from '../src/ops/tracing.js';
import { startServer } from '../src/server.js';
import { createServices } from '../src/services.js';
import { shutDown } from '../src/shutdown.js';
import { cpuReply, type ServerRequest } from './lib/fork.js';

export interface GatewayStats {
  statements: number;
  /** Live subscriptions on the event bus. */
  subscribers: number;
  heapUsed: number;
  rss: number;
}

const config = loadConfig();
const log = createLogger(config.logLevel);
const tracing = await startTracing(config, log);
const { db } = await openMigratedDatabase(targetOf(config));
const services = createServices(config, db, { log });
const server = await startServer(services, { tracing });
let statements = 0;
db.onQuery(() => {
  statements += 1;
});

process.on('message', (msg: ServerRequest) => {
  if (msg.type === 'reset') {
    statements = 0;
    process.send!({ type: 'reset' });
  } else if (msg.type === 'stats') {
    (globalThis as { gc?: () => void }).gc?.();
    const mem = process.memoryUsage();
    process.send!({
      type: 'stats',
      stats: { statements, subscribers: services.bus.subscriberCount, heapUsed: mem.heapUsed, rss: mem.rss } satisfies GatewayStats,
    });
  } else if (msg.type === 'cpu') {
    process.send!(cpuReply());
  } else if (msg.type === 'stop') {
    // The graceful path of SIGTERM (src/shutdown.ts): requests already running are answered
    // before the pool closes under them.
    void shutDown({ server, services, db, tracing }, config.shutdownTimeoutMs).then(
      () => process.exit(0),
      () => process.exit(1),
    );
  }
});
process.send!({ type: 'ready', port: server.port });

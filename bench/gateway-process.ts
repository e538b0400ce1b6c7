// The gateway under benchmark, in its own process (forked by bench/lib/gateway.ts). Same
// start-up as src/main.ts against PostgreSQL, plus an IPC channel through which the load
// generator asks for the statement count, the memory in use (after a GC) and the CPU time used.
import { loadConfig } from '../src/config.js';
import { openMigratedDatabase, targetOf } from '../src/db/open.js';
import { startServer } from '../src/server.js';
import { createServices } from '../src/services.js';
import { cpuReply, type ServerRequest } from './lib/fork.js';

export interface GatewayStats {
  statements: number;
  /** Live subscriptions on the event bus. */
  subscribers: number;
  heapUsed: number;
  rss: number;
}

const config = loadConfig();
const { db } = await openMigratedDatabase(targetOf(config));
const services = createServices(config, db);
const server = await startServer(services);
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
    // The load generator drops its sockets mid-request; let the requests already running
    // finish before the pool closes under them.
    void server
      .close()
      .then(() => new Promise((resolve) => setTimeout(resolve, 2000)))
      .then(() => services.close())
      .then(() => db.close())
      .then(() => process.exit(0));
  }
});
process.send!({ type: 'ready', port: server.port });

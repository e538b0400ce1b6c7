// One gateway process per core on one machine (WEB_CONCURRENCY > 1, PostgreSQL only), with
// node:cluster: the gateway is one thread, CPU-bound under load while PostgreSQL is not (issue 12),
// and it already runs as several instances on one database (locks, the event bus, the webhook
// leases and the rate-limit leases all live in PostgreSQL). So a cluster is N ordinary instances
// sharing one listening port; this primary only supervises them and adds nothing per request
// beyond handing each new connection to a worker (Node's round-robin).
//
// - The primary migrates once before forking (workers then find nothing pending), then forks N
//   workers, each a complete gateway with its own pool of DATABASE_POOL_SIZE connections.
// - SIGTERM/SIGINT to the primary: it forwards SIGTERM to every worker, each drains as a single
//   process does (SPEC section 9: readiness fails, accepted requests are answered in full, exit 0
//   within SHUTDOWN_TIMEOUT_MS), and the primary exits 0 when all of them did (1 otherwise, or
//   when they overrun the timeout, after which it kills them).
// - A worker that dies while serving is replaced (logged); one that dies before it ever listened
//   (bad database URL, say) stops the whole cluster with exit 1 rather than fork in a loop.
// - Metrics: each worker's series carry a `worker` label. With METRICS_PORT set the primary serves
//   every worker's series in one scrape on that port (prom-client's AggregatorRegistry asks each
//   worker over IPC); without it, /metrics on the main port is answered by whichever worker takes
//   the connection, with that worker's series only.
import cluster, { type Worker } from 'node:cluster';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AggregatorRegistry, type Registry } from 'prom-client';
import type { Config } from './config.js';
import { openMigratedDatabase, targetOf } from './db/open.js';
import type { Logger } from './ops/logger.js';

/** Whether this process is a worker of a gateway cluster. */
export function isClusterWorker(): boolean {
  return cluster.isWorker;
}

/** In a worker: label this worker's metrics and let the primary collect them. */
export function joinCluster(registry: Registry): void {
  registry.setDefaultLabels({ worker: String(cluster.worker?.id ?? 0) });
  AggregatorRegistry.setRegistries([registry]);
  // prom-client installs a worker's IPC answerer when an AggregatorRegistry is constructed, not
  // on import: this instance exists for that side effect.
  new AggregatorRegistry();
}

/** Time the primary allows beyond the workers' own SHUTDOWN_TIMEOUT_MS before it kills them. */
const PRIMARY_GRACE_MS = 1000;

/**
 * Runs the primary of a cluster of `config.webConcurrency` workers; prints the start-up banner
 * (via `announce`) once every worker listens. Resolves once the workers run; the process exits
 * from the signal handlers.
 */
export async function runPrimary(config: Config, log: Logger, announce: (port: number) => void): Promise<void> {
  const count = config.webConcurrency;
  const { db, applied } = await openMigratedDatabase(targetOf(config));
  await db.close();
  log.info({ migrationsApplied: applied, workers: count }, 'database ready; starting workers');

  const listened = new Set<Worker>();
  const exitCodes: number[] = [];
  let stopping = false;
  let announced = false;
  let metricsServer: Server | null = null;

  const stopAll = (signal: NodeJS.Signals) => {
    for (const w of Object.values(cluster.workers ?? {})) if (w && !w.isDead()) w.process.kill(signal);
  };
  const finish = (code: number) => {
    metricsServer?.close();
    process.exit(code);
  };
  const living = () => Object.values(cluster.workers ?? {}).filter((w) => w && !w.isDead()).length;

  cluster.on('listening', (worker, address) => {
    // The metrics listener of a worker is never opened (joinCluster); this is the main port.
    listened.add(worker);
    log.info({ worker: worker.id, workerPid: worker.process.pid, port: address.port }, 'worker listening');
    if (!announced && listened.size >= count) {
      announced = true;
      announce(address.port);
    }
  });
  cluster.on('exit', (worker, code, signal) => {
    exitCodes.push(code ?? 1);
    if (stopping) {
      log.info({ worker: worker.id, code, signal }, 'worker stopped');
      if (living() === 0) finish(exitCodes.every((c) => c === 0) ? 0 : 1);
      return;
    }
    if (!listened.has(worker)) {
      log.error({ worker: worker.id, code, signal }, 'a worker exited before it listened; stopping the cluster');
      stopping = true;
      stopAll('SIGTERM');
      if (living() === 0) finish(1);
      return;
    }
    listened.delete(worker);
    log.error({ worker: worker.id, code, signal }, 'worker died; starting a replacement');
    cluster.fork();
  });

  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal, workers: living(), shutdownTimeoutMs: config.shutdownTimeoutMs }, 'shutting down: draining connections');
    setTimeout(() => {
      log.error({ workers: living() }, 'workers did not stop within SHUTDOWN_TIMEOUT_MS; killing them');
      stopAll('SIGKILL');
      finish(1);
    }, config.shutdownTimeoutMs + PRIMARY_GRACE_MS).unref();
    // SIGTERM to each worker whatever the primary got (a terminal's Ctrl-C reaches them too:
    // their second signal is ignored while they drain).
    stopAll('SIGTERM');
    if (living() === 0) finish(0);
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  if (config.metricsPort !== null) metricsServer = await serveClusterMetrics(config, log);
  for (let i = 0; i < count; i++) cluster.fork();
}

/** METRICS_PORT in a cluster: every worker's series in one scrape, served by the primary. */
async function serveClusterMetrics(config: Config, log: Logger): Promise<Server> {
  const aggregator = new AggregatorRegistry();
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Only /metrics is served on this port.\n');
      return;
    }
    aggregator.clusterMetrics().then(
      (text) => res.writeHead(200, { 'content-type': aggregator.contentType }).end(req.method === 'HEAD' ? undefined : text),
      (error: unknown) => {
        log.warn({ err: error }, 'cluster metrics unavailable');
        res.writeHead(503, { 'content-type': 'text/plain' }).end('Metrics unavailable.\n');
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.metricsPort ?? 0, config.host, () => resolve());
  });
  log.info({ port: (server.address() as AddressInfo).port }, 'cluster metrics listening');
  return server;
}

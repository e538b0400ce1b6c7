// The HTTP server, wiring only: the front door (front-door/) in front of /graphql (Yoga over
// HTTP, and graphql-ws over WebSocket on the same path), /api/v1 (REST) and the gateway's own
// pages (health, metrics, GraphiQL assets); connection limits, parser errors and the drain
// bookkeeping (http/). Returns a handle whose close() drains (gracefully on SIGTERM).
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Server as NetServer, type AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import type { Exchange } from './front-door/exchange.js';
import { WsCloseCode } from './front-door/failures.js';
import { FrontDoor } from './front-door/front-door.js';
import { GRAPHQL_PATH, httpEntrance } from './front-door/http.js';
import { serveWebSocket } from './front-door/websocket.js';
import { bodyTooLargeResult } from './graphql/limits.js';
import { createGatewayYoga } from './graphql/yoga.js';
import { BodyTooLargeError, ClientGoneError, readBody } from './http/body.js';
import { clientErrorListener, rawResponse } from './http/client-errors.js';
import { ConnectionTracker, DRAIN_IDLE_GRACE_MS } from './http/connections.js';
import { ErrorCode } from './lib/error-codes.js';
import { renderGraphiQL } from './ops/graphiql.js';
import { readinessChecks } from './ops/health.js';
import { GatewayMetrics } from './ops/metrics.js';
import { METRICS_PATH, opsPages, serveMetrics } from './ops/pages.js';
import { NO_TRACING, type Tracing } from './ops/tracing.js';
import { restPublicRoutes, restRoutes } from './rest/routes.js';
import { createRestHandler, send } from './rest/router.js';
import type { Services } from './services.js';

export { WsCloseCode };

export interface ServerHandle {
  port: number;
  url: string;
  /** The port of the metrics listener when METRICS_PORT is set (else metrics are at `url`/metrics). */
  metricsPort: number | null;
  /** This instance's metrics (one registry per instance). */
  metrics: GatewayMetrics;
  /** True once close() started the drain. */
  readonly draining: boolean;
  /**
   * Drains and closes (SPEC section 9): readiness fails at once, the listener stops accepting,
   * every response not yet begun carries `Connection: close`, WebSocket clients are closed with
   * 1001 and SSE streams end; resolves once every connection is closed, or at the timeout
   * after cutting those still open. Idempotent.
   */
  close(options?: CloseOptions): Promise<void>;
}

export interface CloseOptions {
  /** How long connections may take to finish before they are cut (default 5 s). */
  timeoutMs?: number;
  /**
   * The SIGTERM path: an idle keep-alive connection is closed only after it stayed idle for
   * DRAIN_IDLE_GRACE_MS (a request may be on its way on it; the client would see a reset).
   * Default false: idle connections are closed at once (tests).
   */
  graceful?: boolean;
}

export interface ServerOptions {
  port?: number;
  host?: string;
  /** Process-wide tracing (ops/tracing.ts); off by default. */
  tracing?: Tracing;
  /**
   * false: do not open METRICS_PORT here even when it is set (the main port still refuses
   * /metrics). A worker of a cluster (src/cluster.ts) passes it: the primary serves every
   * worker's metrics on that port.
   */
  metricsListener?: boolean;
}

/** The default time close() gives connections to finish before cutting them. */
const DEFAULT_CLOSE_TIMEOUT_MS = 5000;

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
  });
}

/** Starts listening; tests pass port 0 and read the chosen port from the handle. */
export async function startServer(services: Services, options: ServerOptions = {}): Promise<ServerHandle> {
  const { config } = services;
  const limits = config.http;
  const tracing = options.tracing ?? NO_TRACING;
  const metrics = new GatewayMetrics();
  metrics.watch({ db: services.db, bus: services.bus, sender: services.webhooks.sender });
  const frontDoor = new FrontDoor(services, metrics);
  const drain = new AbortController();
  const yoga = createGatewayYoga(frontDoor, { drain: drain.signal, plugins: [...tracing.graphqlPlugins], renderGraphiQL });
  const rest = createRestHandler(frontDoor, restRoutes, restPublicRoutes);

  /**
   * Reads the body ourselves, bounded (http/body.ts), and hands it to Yoga as a pre-read
   * `req.body` (whatwg-node's path for bodies parsed upstream, as behind Express): Yoga's own
   * limit would stop reading mid-body and leave the keep-alive connection hanging.
   */
  async function serveGraphQL(req: IncomingMessage, res: ServerResponse, exchange: Exchange): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      try {
        Object.assign(req, { body: await readBody(req, config.graphqlLimits.maxBodyBytes) });
      } catch (error) {
        if (error instanceof BodyTooLargeError) {
          const result = bodyTooLargeResult(error.maxBytes);
          exchange.noteErrors(result.errors);
          return send(res, 413, result);
        }
        if (error instanceof ClientGoneError) return void res.destroy();
        throw error;
      }
    }
    await yoga(req, res, { exchange });
  }

  const server = createServer({
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    // Node checks both timeouts on this period: at most a quarter of the headers timeout late.
    connectionsCheckingInterval: Math.max(25, Math.min(1000, Math.floor(limits.headersTimeoutMs / 4))),
  });
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  const tracker = new ConnectionTracker(server, limits.maxSilentSockets);
  const metricsElsewhere = config.metricsPort !== null;
  const pages = opsPages({
    checks: readinessChecks(services.db, services.log, () => !tracker.draining),
    metrics: metricsElsewhere ? null : metrics,
  });
  const entrance = httpEntrance(frontDoor, tracing, { graphql: serveGraphQL, rest, pages });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    tracker.request(req, res);
    entrance(req, res);
  });
  server.on(
    'clientError',
    clientErrorListener(services.log, (socket) => tracker.responding(socket)),
  );
  // Once draining, graphql-ws no longer listens for handshakes: answer them rather than leave them hanging.
  server.on('upgrade', (_req, socket) => {
    if (!tracker.draining) return;
    const answer = { status: 503, code: ErrorCode.Unavailable, message: 'The gateway is shutting down.', reason: 'shutting_down' };
    socket.end(rawResponse(answer, randomUUID()), () => socket.destroy());
  });

  const wss = new WebSocketServer({ server, path: GRAPHQL_PATH, maxPayload: limits.wsMaxMessageBytes });
  const ws = serveWebSocket(frontDoor, yoga, wss, { maxSubscriptions: limits.wsMaxSubscriptions });

  const host = options.host ?? config.host;
  const port = await listen(server, options.port ?? config.port, host);
  // METRICS_PORT: metrics on a listener of their own (e.g. reachable only inside the cluster), not on the main port.
  let metricsServer: Server | null = null;
  let metricsPort: number | null = null;
  if (config.metricsPort !== null && options.metricsListener !== false) {
    const only = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (path === METRICS_PATH && (req.method === 'GET' || req.method === 'HEAD')) {
        serveMetrics(metrics, res).catch(() => res.destroy());
        return;
      }
      send(res, 404, { error: { code: ErrorCode.NotFound, message: 'Only /metrics is served on this port.', details: {} } });
    });
    metricsServer = only;
    metricsPort = await listen(only, config.metricsPort, host);
  }

  let closing: Promise<void> | undefined;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    metricsPort,
    metrics,
    get draining() {
      return tracker.draining;
    },
    close({ timeoutMs = DEFAULT_CLOSE_TIMEOUT_MS, graceful = false } = {}) {
      closing ??= (async () => {
        tracker.startDrain(graceful ? DRAIN_IDLE_GRACE_MS : 0);
        // Stop accepting. http.Server#close would also destroy every idle keep-alive
        // connection at once, racing a request already on its way on one; net.Server#close
        // only stops listening, and the tracker closes idle connections after their grace.
        NetServer.prototype.close.call(server, () => {});
        // WebSocket clients first (1001, so they resume elsewhere), then the SSE streams.
        const wsClosed = ws.dispose().catch(() => {});
        drain.abort();
        let timer: NodeJS.Timeout | undefined;
        const timedOut = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), timeoutMs)));
        const cut = await Promise.race([Promise.all([tracker.whenEmpty(), wsClosed]).then(() => false), timedOut]);
        clearTimeout(timer);
        if (cut) {
          services.log.warn({ open: tracker.size }, 'connections still open at the shutdown timeout were cut');
          for (const client of wss.clients) client.terminate();
          tracker.destroyAll();
        }
        // Clears Node's timeout checker; the listener is already closed, hence the ignored error.
        server.close(() => {});
        metricsServer?.closeAllConnections();
        await new Promise<void>((resolve) => (metricsServer ? metricsServer.close(() => resolve()) : resolve()));
        metrics.close();
      })();
      return closing;
    },
  };
}

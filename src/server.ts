// The HTTP server: /graphql (Yoga over HTTP and graphql-ws over WebSocket on the same path),
// /api/v1 (REST compatibility route), the health endpoints. Connection limits, parser errors
// and the drain bookkeeping live in http/; this file wires them. Returns a handle whose
// close() drains (gracefully on SIGTERM) and disposes.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Server as NetServer, type AddressInfo } from 'node:net';
import { GraphQLError, type DocumentNode, type ExecutionArgs } from 'graphql';
import { CloseCode } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import { bearerToken, type Principal } from './auth/api-keys.js';
import { createLoaders } from './graphql/loaders.js';
import { enforceRateLimit, GraphQLErrorCode, type GatewayContext } from './graphql/context.js';
import { bodyTooLargeResult } from './graphql/limits.js';
import { createGatewayYoga, isGraphQLError } from './graphql/yoga.js';
import { BodyTooLargeError, ClientGoneError, readBody } from './http/body.js';
import { restPublicRoutes, restRoutes } from './rest/routes.js';
import { RestError } from './rest/errors.js';
import { createRestHandler, REST_PREFIX, send } from './rest/router.js';
import { clientErrorListener, rawResponse } from './http/client-errors.js';
import { ConnectionTracker, DRAIN_IDLE_GRACE_MS } from './http/connections.js';
import { LIVENESS_PATHS, READINESS_PATH, readiness, type ReadinessCheck } from './http/health.js';
import { serveDashboard } from './pages/dashboard.js';
import { ErrorCode } from './lib/error-codes.js';
import type { Services } from './services.js';

export interface ServerHandle {
  port: number;
  url: string;
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
}

/** Close codes of our WebSocket connections (graphql-ws reserves 4400–4499 for the protocol). */
export const WsCloseCode = {
  Unauthorized: CloseCode.Unauthorized,
  Forbidden: CloseCode.Forbidden,
  /** RFC 6455: the server is going away (graceful shutdown); resume elsewhere with the last cursor. */
  GoingAway: 1001,
  /** RFC 6455: a message over WS_MAX_MESSAGE_BYTES (sent by ws itself). */
  MessageTooBig: 1009,
} as const;

/** The default time close() gives connections to finish before cutting them. */
const DEFAULT_CLOSE_TIMEOUT_MS = 5000;

/** How often open WebSocket connections re-check their key, so a revocation bites within 1 s. */
const WS_KEY_RECHECK_MS = 500;

type WsExtra = {
  principal?: Principal;
  token?: string;
};

/**
 * Re-checks the keys of open WebSocket connections: one timer per distinct key, not per
 * connection, so ten thousand subscribers of one key cost one verification per period.
 */
class KeyWatch {
  private readonly byToken = new Map<string, { sockets: Set<WebSocket>; timer: NodeJS.Timeout }>();

  constructor(private readonly services: Services) {}

  add(token: string, socket: WebSocket): void {
    let watched = this.byToken.get(token);
    if (!watched) {
      const sockets = new Set<WebSocket>();
      const timer = setInterval(() => {
        this.services.keys.verify(token).then(
          (p) => {
            if (p) return;
            for (const s of sockets) s.close(WsCloseCode.Unauthorized, 'Unauthorized: the API key was revoked or expired');
          },
          () => {},
        );
      }, WS_KEY_RECHECK_MS);
      timer.unref();
      watched = { sockets, timer };
      this.byToken.set(token, watched);
    }
    watched.sockets.add(socket);
  }

  remove(token: string, socket: WebSocket): void {
    const watched = this.byToken.get(token);
    if (!watched) return;
    watched.sockets.delete(socket);
    if (watched.sockets.size === 0) {
      clearInterval(watched.timer);
      this.byToken.delete(token);
    }
  }
}

/** Starts listening; tests pass port 0 and read the chosen port from the handle. */
export async function startServer(services: Services, options: ServerOptions = {}): Promise<ServerHandle> {
  const limits = services.config.http;
  const drain = new AbortController();
  const yoga = createGatewayYoga(services, { drain: drain.signal });
  const rest = createRestHandler(services, restRoutes, restPublicRoutes);

  const server = createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      // Node checks both timeouts on this period: at most a quarter of the headers timeout late.
      connectionsCheckingInterval: Math.max(25, Math.min(1000, Math.floor(limits.headersTimeoutMs / 4))),
    },
    (req, res) => {
      tracker.request(req, res);
      const incoming = req.headers['x-request-id'];
      const requestId = typeof incoming === 'string' && /^[\w.-]{1,128}$/.test(incoming) ? incoming : randomUUID();
      res.setHeader('X-Request-Id', requestId);
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      if (path === '/graphql' || path.startsWith('/graphql/')) {
        serveGraphQL(req, res, requestId).catch((error: unknown) => {
          services.log.error('unexpected error', { requestId, error: String(error instanceof Error ? error.stack : error) });
          res.destroy();
        });
        return;
      }
      if (path === REST_PREFIX || path.startsWith(`${REST_PREFIX}/`)) {
        void rest(req, res, requestId);
        return;
      }
      if (LIVENESS_PATHS.includes(path)) return send(res, 200, { status: 'ok' });
      if (path === READINESS_PATH) {
        void readiness(readinessChecks).then(({ status, body }) => send(res, status, body));
        return;
      }
      if (serveDashboard(req, res, path, services.log)) return;
      const notFound = new RestError(ErrorCode.NotFound, 'No such route.');
      send(res, notFound.status, notFound.body());
    },
  );
  /**
   * Reads the body ourselves, bounded (http/body.ts), and hands it to Yoga as a pre-read
   * `req.body` (whatwg-node's path for bodies parsed upstream, as behind Express): Yoga's own
   * limit would stop reading mid-body and leave the keep-alive connection hanging.
   */
  async function serveGraphQL(req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      try {
        Object.assign(req, { body: await readBody(req, services.config.graphqlLimits.maxBodyBytes) });
      } catch (error) {
        if (error instanceof BodyTooLargeError) return send(res, 413, bodyTooLargeResult(error.maxBytes));
        if (error instanceof ClientGoneError) return void res.destroy();
        throw error;
      }
    }
    await yoga(req, res, { requestId });
  }
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  const tracker = new ConnectionTracker(server, limits.maxSilentSockets);
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
  /** What GET /readyz checks; each fails with its name (more join later: database, migrations, listener). */
  const readinessChecks: ReadinessCheck[] = [{ name: 'accepting', ready: () => !tracker.draining }];

  const wss = new WebSocketServer({ server, path: '/graphql', maxPayload: limits.wsMaxMessageBytes });
  const keyWatch = new KeyWatch(services);
  const wsServer = useServer<Record<string, unknown>, WsExtra>(
    {
      onConnect: async (ctx) => {
        const auth = ctx.connectionParams?.authorization;
        const token = bearerToken(typeof auth === 'string' ? auth : undefined);
        const principal = token ? await services.keys.verify(token) : null;
        if (!token || !principal) {
          ctx.extra.socket.close(WsCloseCode.Unauthorized, 'Unauthorized: a valid API key is required in connection_init');
          return false;
        }
        ctx.extra.principal = principal;
        ctx.extra.token = token;
        // A revoked or expired key stops long-lived subscriptions too.
        keyWatch.add(token, ctx.extra.socket);
        return true;
      },
      onClose: (ctx) => {
        if (ctx.extra.token) keyWatch.remove(ctx.extra.token, ctx.extra.socket);
      },
      onSubscribe: async (ctx, _id, payload) => {
        const { schema, execute, subscribe, parse, validate } = yoga.getEnveloped({
          ...ctx,
          req: ctx.extra.request,
          socket: ctx.extra.socket,
          params: payload,
        });
        // Parse and validate first, like Yoga does over HTTP: the document limits
        // (graphql/limits.ts) then run before the rate limit and any database work. A bad
        // document is an error for this operation, never the end of the connection.
        let document: DocumentNode;
        try {
          document = parse(payload.query);
          const errors = validate(schema, document);
          if (errors.length) return errors;
        } catch (error) {
          if (isGraphQLError(error)) return [error];
          throw error;
        }
        // graphql-ws registers the operation before calling us, so it is counted here.
        const inProgress = Object.keys(ctx.subscriptions).length;
        if (inProgress > limits.wsMaxSubscriptions) {
          return [
            new GraphQLError(`At most ${limits.wsMaxSubscriptions} operations may run at once on one connection.`, {
              extensions: { code: GraphQLErrorCode.MaxSubscriptionsExceeded, limit: limits.wsMaxSubscriptions },
            }),
          ];
        }
        // Every operation over the socket counts against the key's rate limit.
        try {
          if (ctx.extra.principal) await enforceRateLimit(services, ctx.extra.principal);
        } catch (error) {
          if (isGraphQLError(error)) return [error];
          throw error;
        }
        const contextValue: GatewayContext = {
          services,
          principal: ctx.extra.principal ?? null,
          requestId: randomUUID(),
          loaders: createLoaders(services, ctx.extra.principal ?? null),
        };
        const args: ExecutionArgs & { rootValue: { execute: typeof execute; subscribe: typeof subscribe } } = {
          schema,
          operationName: payload.operationName,
          document,
          variableValues: payload.variables,
          contextValue,
          rootValue: { execute, subscribe },
        };
        return args;
      },
      execute: (args) => (args.rootValue as { execute: (a: unknown) => unknown }).execute(args) as never,
      subscribe: (args) => (args.rootValue as { subscribe: (a: unknown) => unknown }).subscribe(args) as never,
    },
    wss,
  );

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? services.config.port, options.host ?? services.config.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  let closing: Promise<void> | undefined;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
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
        const wsClosed = Promise.resolve(wsServer.dispose()).catch(() => {});
        drain.abort();
        let timer: NodeJS.Timeout | undefined;
        const timedOut = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), timeoutMs)));
        const cut = await Promise.race([Promise.all([tracker.whenEmpty(), wsClosed]).then(() => false), timedOut]);
        clearTimeout(timer);
        if (cut) {
          services.log.warn('connections still open at the shutdown timeout were cut', { open: tracker.size });
          for (const client of wss.clients) client.terminate();
          tracker.destroyAll();
        }
        // Clears Node's timeout checker; the listener is already closed, hence the ignored error.
        server.close(() => {});
      })();
      return closing;
    },
  };
}

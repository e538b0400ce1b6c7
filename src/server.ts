// The HTTP server: /graphql (Yoga over HTTP and graphql-ws over WebSocket on the same path),
// /api/v1 (REST compatibility route). Returns a handle whose close() drains and disposes.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ExecutionArgs, GraphQLError } from 'graphql';
import { CloseCode } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import { bearerToken, type Principal } from './auth/api-keys.js';
import { createLoaders } from './graphql/loaders.js';
import { enforceRateLimit, type GatewayContext } from './graphql/context.js';
import { createGatewayYoga } from './graphql/yoga.js';
import { restPublicRoutes, restRoutes } from './rest/routes.js';
import { RestError } from './rest/errors.js';
import { createRestHandler, REST_PREFIX, send } from './rest/router.js';
import { ErrorCode } from './lib/error-codes.js';
import type { Services } from './services.js';

export interface ServerHandle {
  port: number;
  url: string;
  close(): Promise<void>;
}

export interface ServerOptions {
  port?: number;
  host?: string;
}

/** Close codes of our WebSocket connections (graphql-ws reserves 4400–4499 for the protocol). */
export const WsCloseCode = {
  Unauthorized: CloseCode.Unauthorized,
  Forbidden: CloseCode.Forbidden,
} as const;

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
  const yoga = createGatewayYoga(services);
  const rest = createRestHandler(services, restRoutes, restPublicRoutes);

  const server = createServer((req, res) => {
    const incoming = req.headers['x-request-id'];
    const requestId = typeof incoming === 'string' && /^[\w.-]{1,128}$/.test(incoming) ? incoming : randomUUID();
    res.setHeader('X-Request-Id', requestId);
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (path === '/graphql' || path.startsWith('/graphql/')) {
      void yoga(req, res, { requestId });
      return;
    }
    if (path === REST_PREFIX || path.startsWith(`${REST_PREFIX}/`)) {
      void rest(req, res, requestId);
      return;
    }
    if (path === '/healthz') return send(res, 200, { status: 'ok' });
    const notFound = new RestError(ErrorCode.NotFound, 'No such route.');
    send(res, notFound.status, notFound.body());
  });

  const wss = new WebSocketServer({ server, path: '/graphql' });
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
        // Every operation over the socket counts against the key's rate limit.
        try {
          if (ctx.extra.principal) await enforceRateLimit(services, ctx.extra.principal);
        } catch (error) {
          return [error as GraphQLError];
        }
        const { schema, execute, subscribe, parse, validate } = yoga.getEnveloped({
          ...ctx,
          req: ctx.extra.request,
          socket: ctx.extra.socket,
          params: payload,
        });
        const contextValue: GatewayContext = {
          services,
          principal: ctx.extra.principal ?? null,
          requestId: randomUUID(),
          loaders: createLoaders(services, ctx.extra.principal ?? null),
        };
        const args: ExecutionArgs & { rootValue: { execute: typeof execute; subscribe: typeof subscribe } } = {
          schema,
          operationName: payload.operationName,
          document: parse(payload.query),
          variableValues: payload.variables,
          contextValue,
          rootValue: { execute, subscribe },
        };
        const errors = validate(args.schema, args.document);
        if (errors.length) return errors;
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
    close() {
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        await wsServer.dispose();
        for (const client of wss.clients) client.terminate();
        await new Promise<void>((resolve) => wss.close(() => resolve()));
        // Give in-flight requests a moment to drain, then cut the rest.
        const timer = setTimeout(() => server.closeAllConnections(), 5000);
        await closed;
        clearTimeout(timer);
      })();
      return closing;
    },
  };
}

// graphql-ws through the front door. The key is verified once, in `connection_init`; each
// operation is then an exchange of its own (request id, access line, metrics) that is parsed,
// validated and limited like an HTTP request, spends the rate limit, and gets the same context
// (fresh DataLoaders) from the one factory. Nothing here throws at graphql-ws: every refusal is
// an error message of that operation, or a close with a code and a short fixed reason. The
// socket plumbing is ours (not graphql-ws/use/ws) so that protocol errors reach our logger,
// never the console, and never with a payload.
import type { IncomingMessage } from 'node:http';
import {
  getOperationAST,
  GraphQLError,
  type DocumentNode,
  type execute,
  type ExecutionArgs,
  type ExecutionResult,
  type GraphQLSchema,
  type parse,
  type subscribe,
  type validate,
} from 'graphql';
import { CloseCode, handleProtocols, makeServer, type OperationResult } from 'graphql-ws';
import type { WebSocket, WebSocketServer } from 'ws';
import { bearerToken, type Principal } from '../auth/api-keys.js';
import { GraphQLErrorCode, type GatewayContext } from '../graphql/context.js';
import { liveResultsOf } from '../graphql/shared-subscriptions.js';
import { isGraphQLError, type GatewayYoga } from '../graphql/yoga.js';
import { Surface } from '../ops/metrics.js';
import type { Exchange } from './exchange.js';
import { failureStatus, graphqlError, wsClose } from './failures.js';
import type { FrontDoor } from './front-door.js';
import { clientError, gatewayContext } from './graphql.js';

/** How often open connections re-check their key, so a revocation bites within a second. */
const KEY_RECHECK_MS = 500;
/** Ping period; a connection that misses a pong for as long is terminated (graphql-ws's default). */
const KEEP_ALIVE_MS = 12_000;
/** The metric label and access-line operation of the connection itself (its handshake and lifetime). */
const CONNECTION_OPERATION = 'connection';

interface WsExtra {
  socket: WebSocket;
  request: IncomingMessage;
  /** The connection's own exchange: its request id is each operation's `connectionId`. */
  connection: Exchange;
  principal?: Principal;
  token?: string;
  /** The exchange of each operation in progress, by graphql-ws id. */
  operations: Map<string, Exchange>;
}

export interface WebSocketOptions {
  /** Operations in progress on one connection (WS_MAX_SUBSCRIPTIONS). */
  maxSubscriptions: number;
}

/**
 * Re-checks the keys of open connections: one timer per distinct key, not per connection, so
 * ten thousand subscribers of one key cost one verification per period.
 */
class KeyWatch {
  private readonly byToken = new Map<string, { sockets: Set<WebSocket>; timer: NodeJS.Timeout }>();

  constructor(private readonly frontDoor: FrontDoor) {}

  add(token: string, socket: WebSocket): void {
    let watched = this.byToken.get(token);
    if (!watched) {
      const sockets = new Set<WebSocket>();
      const close = wsClose({ kind: 'unauthenticated', reason: 'rejected' });
      const timer = setInterval(() => {
        // A failed check (database down) leaves the connection: the key was valid at its last check.
        this.frontDoor.services.keys.verify(token).then(
          (p) => {
            if (!p) for (const s of sockets) s.close(close.code, 'Unauthorized: the API key was revoked or expired');
          },
          () => {},
        );
      }, KEY_RECHECK_MS);
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

/** The HTTP status an operation's errors would answer over HTTP (the `status` of its access line). */
function statusOf(errors: readonly GraphQLError[]): number {
  let status = 0;
  for (const e of errors) {
    const http = e.extensions.http;
    const s = typeof http === 'object' && http !== null && 'status' in http && typeof http.status === 'number' ? http.status : 400;
    status = Math.max(status, s);
  }
  return status || 400;
}

/** Sends one text message; resolves once ws handed it to the socket (a closed socket drops it). */
function sendText(socket: WebSocket, data: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (socket.readyState !== socket.OPEN) return resolve();
    socket.send(data, (err) => (err ? reject(err) : resolve()));
  });
}

/**
 * Serialised payloads by result object. A live change reaches every subscriber of a group as
 * the same ExecutionResult (graphql/shared-subscriptions.ts), so it is stringified once per
 * group, not once per subscriber; the entry goes with the result (WeakMap).
 */
const payloadTexts = new WeakMap<ExecutionResult, string>();

function payloadText(result: ExecutionResult): string {
  let text = payloadTexts.get(result);
  if (text === undefined) {
    text = JSON.stringify(result);
    payloadTexts.set(result, text);
  }
  return text;
}

/** The start of a graphql-ws `next` message of operation `id`, up to its payload. */
const nextPrefix = (id: string) => `{"id":${JSON.stringify(id)},"type":"next","payload":`;

/**
 * A subscription's stream as graphql-ws consumes it, with the fan-out's fast path: results
 * without errors are written here as `next` messages around their shared payload text (the
 * same bytes graphql-ws's stringifyMessage would produce: id, type, payload), one after the
 * other, each awaiting its write as graphql-ws does (so a slow socket still backs up into the
 * bus's bounded buffer). Results with errors (SUBSCRIBER_TOO_SLOW, a failed field) and the end
 * of the stream go to graphql-ws as before, which keeps them in order after what was written.
 */
function writeSharedResults(source: AsyncIterable<ExecutionResult>, socket: WebSocket, id: string): AsyncIterableIterator<ExecutionResult> {
  const it = source[Symbol.asyncIterator]();
  const prefix = nextPrefix(id);
  const done: IteratorReturnResult<undefined> = { done: true, value: undefined };
  return {
    async next() {
      for (;;) {
        const r = await it.next();
        if (r.done) return done;
        if (r.value.errors) return r;
        await sendText(socket, `${prefix}${payloadText(r.value)}}`);
      }
    },
    async return() {
      await it.return?.();
      return done;
    },
    async throw(error: unknown) {
      await it.return?.();
      throw error;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

/** A refusal before execution: one coded error. */
const refusal = (message: string, code: string, extensions: Record<string, unknown> = {}) =>
  new GraphQLError(message, { extensions: { code, ...extensions, http: { status: 400 } } });

/**
 * The parts of Yoga's Envelop this path calls, with graphql-js 16's signatures: Envelop types
 * them `any` (it serves several graphql versions), so naming them here keeps the calls checked.
 */
interface EnvelopedGraphQL {
  parse: typeof parse;
  validate: typeof validate;
  execute: typeof execute;
  subscribe: typeof subscribe;
  schema: GraphQLSchema;
}

/** Serves graphql-ws on `wss` through the front door; dispose() closes every client with 1001. */
export function serveWebSocket(frontDoor: FrontDoor, yoga: GatewayYoga, wss: WebSocketServer, options: WebSocketOptions) {
  const keyWatch = new KeyWatch(frontDoor);
  /** Each operation's Envelop functions, socket and graphql-ws id, by its context. */
  const operations = new WeakMap<object, { fns: EnvelopedGraphQL; socket: WebSocket; id: string; ex: Exchange }>();

  const operationOf = (contextValue: unknown) => {
    const op = typeof contextValue === 'object' && contextValue !== null ? operations.get(contextValue) : undefined;
    if (!op) throw new Error('graphql-ws operation without a front-door context');
    return op;
  };

  /** Parses, validates and limits one operation; its arguments, or the errors that refuse it. */
  async function prepare(
    extra: WsExtra,
    id: string,
    ex: Exchange,
    payload: { query: string; operationName?: string | null | undefined; variables?: Record<string, unknown> | null | undefined },
    inProgress: number,
  ): Promise<ExecutionArgs | readonly GraphQLError[]> {
    const principal = extra.principal;
    if (!principal) return [graphqlError({ kind: 'unauthenticated', reason: 'missing' }, ex.requestId)];
    const fns: EnvelopedGraphQL = yoga.getEnveloped({ req: extra.request, socket: extra.socket, params: payload });
    // Parse and validate first, like Yoga over HTTP: the document limits (graphql/limits.ts)
    // run before the rate limit and any database work.
    let document: DocumentNode;
    let invalid: readonly GraphQLError[];
    try {
      document = fns.parse(payload.query);
      // The limit rules throw their error at once (graphql-armor reports through callbacks).
      invalid = fns.validate(fns.schema, document);
    } catch (error) {
      if (!isGraphQLError(error)) throw error;
      return [typeof error.extensions.code === 'string' ? error : refusal(error.message, GraphQLErrorCode.ParseFailed)];
    }
    if (invalid.length) {
      return invalid.map((e) =>
        typeof e.extensions.code === 'string'
          ? e
          : new GraphQLError(e.message, { nodes: e.nodes, extensions: { code: GraphQLErrorCode.ValidationFailed, http: { status: 400 } } }),
      );
    }
    const operation = getOperationAST(document, payload.operationName);
    if (!operation) {
      const message = payload.operationName
        ? `The document has no operation named "${payload.operationName}".`
        : 'The document has several operations: name the one to run (operationName).';
      return [refusal(message, GraphQLErrorCode.OperationResolutionFailure)];
    }
    ex.operation = frontDoor.operationLabel(operation.name?.value);
    if (inProgress > options.maxSubscriptions) {
      return [
        refusal(
          `At most ${options.maxSubscriptions} operations may run at once on one connection.`,
          GraphQLErrorCode.MaxSubscriptionsExceeded,
          {
            limit: options.maxSubscriptions,
          },
        ),
      ];
    }
    // Every operation over the socket counts against the key's rate limit.
    const refused = await frontDoor.limit(principal, ex);
    if (refused) return [graphqlError(refused, ex.requestId)];
    const contextValue: GatewayContext = gatewayContext(frontDoor, ex, principal);
    operations.set(contextValue, { fns, socket: extra.socket, id, ex });
    return { schema: fns.schema, operationName: payload.operationName, document, variableValues: payload.variables, contextValue };
  }

  /**
   * The fan-out's fast path: live results pushed by the bus, written at once as `next`
   * messages around their shared payload text; `written` (ws's write callback, one closure per
   * subscription) lets the bus push the next one. A result with errors is mapped as the front
   * door maps any execution result (coded, logged with this operation's request id).
   */
  function pushWriter(socket: WebSocket, id: string, ex: Exchange) {
    const prefix = nextPrefix(id);
    return (result: ExecutionResult, written: () => void) => {
      if (socket.readyState !== socket.OPEN) return;
      let payload: string;
      if (result.errors) {
        const errors = result.errors.map((e) => clientError(frontDoor, ex, e));
        ex.noteErrors(errors);
        payload = JSON.stringify({ ...result, errors });
      } else payload = payloadText(result);
      socket.send(`${prefix}${payload}}`, written);
    };
  }

  const server = makeServer<Record<string, unknown>, WsExtra>({
    onConnect: async (ctx) => {
      const { connection, socket } = ctx.extra;
      const auth = ctx.connectionParams?.authorization;
      const admission = await frontDoor.authenticateKey(auth, connection);
      if (!admission.ok) {
        const close = wsClose(admission.failure);
        socket.close(close.code, close.reason);
        frontDoor.finish(connection, failureStatus(admission.failure), { closeCode: close.code });
        return false;
      }
      ctx.extra.principal = admission.principal;
      // A revoked or expired key stops long-lived subscriptions too.
      const token = bearerToken(typeof auth === 'string' ? auth : undefined);
      if (token) {
        ctx.extra.token = token;
        keyWatch.add(token, socket);
      }
      return true;
    },
    onClose: (ctx, code) => {
      if (ctx.extra.token) keyWatch.remove(ctx.extra.token, ctx.extra.socket);
      frontDoor.finish(ctx.extra.connection, 101, { closeCode: code });
    },
    onSubscribe: async (ctx, id, payload) => {
      const { connection } = ctx.extra;
      const ex = frontDoor.open(Surface.WebSocket, frontDoor.operationLabel(payload.operationName), null, {
        connectionId: connection.requestId,
      });
      ex.principal = ctx.extra.principal ?? null;
      ctx.extra.operations.set(id, ex);
      try {
        // graphql-ws registers the operation before calling us, so it is counted here.
        return await prepare(ctx.extra, id, ex, payload, Object.keys(ctx.subscriptions).length);
      } catch (error) {
        return [graphqlError(frontDoor.fail(error, ex), ex.requestId)];
      }
    },
    execute: (args): OperationResult => operationOf(args.contextValue).fns.execute(args),
    subscribe: async (args): Promise<AsyncIterable<ExecutionResult> | ExecutionResult> => {
      const op = operationOf(args.contextValue);
      const result = await op.fns.subscribe(args);
      if (!(Symbol.asyncIterator in result)) return result;
      liveResultsOf(args.contextValue)?.attach(pushWriter(op.socket, op.id, op.ex));
      return writeSharedResults(result, op.socket, op.id);
    },
    onError: (ctx, id, _payload, errors) => {
      const ex = ctx.extra.operations.get(id);
      if (!ex) return;
      // Also graphql-ws's own errors (a stream that threw): coded and masked like any other.
      const mapped = errors.map((e) => clientError(frontDoor, ex, e));
      ex.noteErrors(mapped);
      frontDoor.finish(ex, statusOf(mapped));
      ctx.extra.operations.delete(id);
      return mapped.map((e) => e.toJSON());
    },
    onComplete: (ctx, id) => {
      const ex = ctx.extra.operations.get(id);
      if (!ex) return;
      frontDoor.finish(ex, 200);
      ctx.extra.operations.delete(id);
    },
  });

  wss.options.handleProtocols = handleProtocols;
  wss.on('connection', (socket: WebSocket, request: IncomingMessage) => {
    const connection = frontDoor.open(Surface.WebSocket, CONNECTION_OPERATION, request.headers['x-request-id']);
    connection.stream = true;
    // Client protocol errors (a message over WS_MAX_MESSAGE_BYTES, a bad frame): ws closes the
    // socket itself (1009, 1002); we only log, without the payload.
    socket.on('error', (error: Error & { code?: string }) => {
      connection.log.debug({ code: error.code ?? null, reason: error.message }, 'websocket protocol error');
    });
    let pongWait: NodeJS.Timeout | null = null;
    const ping = setInterval(() => {
      if (socket.readyState !== socket.OPEN) return;
      pongWait = setTimeout(() => socket.terminate(), KEEP_ALIVE_MS);
      socket.once('pong', () => {
        if (pongWait) clearTimeout(pongWait);
        pongWait = null;
      });
      socket.ping();
    }, KEEP_ALIVE_MS);
    const closed = server.opened(
      {
        protocol: socket.protocol,
        send: (data) => sendText(socket, data),
        close: (code, reason) => socket.close(code, reason),
        onMessage: (handle) =>
          socket.on('message', (data) => {
            // ws hands a text message over as one Buffer (binaryType 'nodebuffer', the default): String() is its UTF-8 text.
            // eslint-disable-next-line @typescript-eslint/no-base-to-string
            handle(String(data)).catch((error: unknown) => {
              // Our bug, never the client's: logged with the connection's id, closed without details.
              connection.log.error({ err: error }, 'websocket message handling failed');
              socket.close(CloseCode.InternalServerError, 'Internal server error');
            });
          }),
      },
      { socket, request, connection, operations: new Map() },
    );
    socket.once('close', (code, reason) => {
      if (pongWait) clearTimeout(pongWait);
      clearInterval(ping);
      void closed(code, String(reason));
    });
  });

  return {
    /** Closes every client with 1001 (going away) and the server; resolves once it is closed. */
    async dispose(): Promise<void> {
      for (const client of wss.clients) client.close(1001, 'Going away');
      wss.removeAllListeners('connection');
      await new Promise<void>((resolve, reject) => wss.close((err) => (err ? reject(err) : resolve())));
    },
  };
}

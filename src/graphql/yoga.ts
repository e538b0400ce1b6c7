// Builds the GraphQL application (Yoga over the Pothos schema) behind the front door. It never
// listens: server.ts mounts it on HTTP and WebSocket.
import { GraphQLError } from 'graphql';
import { createYoga, type GraphiQLOptions, type GraphQLParams, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import { failureFromError } from '../front-door/failures.js';
import type { FrontDoor } from '../front-door/front-door.js';
import { httpContext, observeIdempotentWrites, toClientError, useFrontDoor, type ServerContext } from '../front-door/graphql.js';
import { DEFAULT_HEADERS } from '../ops/graphiql.js';
import type { Services } from '../services.js';
import { GraphQLErrorCode, type GatewayContext } from './context.js';
import { endSubscriptionsOnDrain } from './drain.js';
import { useCompiledExecution } from './jit.js';
import { operationLimitPlugins } from './limits.js';
import { buildSchema } from './schema/index.js';
import { useSharedSubscriptionExecution } from './shared-subscriptions.js';

export type GatewayYoga = YogaServerInstance<ServerContext, GatewayContext>;

/**
 * Yoga's last-resort masking, for errors raised outside an execution (the front door's plugin
 * maps those of an execution first, with the request's logger): the same mapping, logged
 * without a request id (Yoga does not hand the request to this hook).
 */
export function maskError(services: Services, error: unknown): GraphQLError {
  return toClientError(error, (thrown) => failureFromError(thrown, services.log), null);
}

/**
 * Tag check rather than instanceof: a test runner or a bundler may load two copies of
 * `graphql`, and an error of the other copy must still count as ours.
 */
export function isGraphQLError(error: unknown): error is GraphQLError {
  return Object.prototype.toString.call(error) === '[object GraphQLError]';
}

const hasCode = (error: GraphQLError) => typeof error.extensions.code === 'string';

/** A copy of `error` with more extensions (GraphQLError's own are read-only). */
export function withExtensions(error: GraphQLError, extensions: Record<string, unknown>): GraphQLError {
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    originalError: error.originalError,
    extensions: { ...error.extensions, ...extensions },
  });
}

/** A refused HTTP request (bad parameters, unreadable body): code BAD_REQUEST. */
function badRequest(message: string, status = 400): GraphQLError {
  return new GraphQLError(message, { extensions: { code: GraphQLErrorCode.BadRequest, http: { status } } });
}

const isJsonObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A JSON-object parameter of a GET query string or form body; absent or empty is undefined. */
function jsonObjectParam(params: URLSearchParams, name: 'variables' | 'extensions'): Record<string, unknown> | undefined {
  const text = params.get(name);
  if (!text) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw badRequest(`The ${name} parameter is not valid JSON.`);
  }
  if (value === null) return undefined;
  if (!isJsonObject(value)) throw badRequest(`The ${name} parameter must be a JSON object.`);
  return value;
}

/** GraphQL parameters from a query string or a urlencoded form (Yoga's own parser answers 500 to bad JSON). */
function paramsFromSearch(params: URLSearchParams): GraphQLParams {
  return {
    query: params.get('query') || undefined,
    operationName: params.get('operationName') || undefined,
    variables: jsonObjectParam(params, 'variables'),
    extensions: jsonObjectParam(params, 'extensions'),
  };
}

const isFormBody = (request: Request) =>
  (request.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase() === 'application/x-www-form-urlencoded';

/**
 * Every GraphQL error a client receives carries `extensions.code` (SPEC section 9), set here
 * and in maskError rather than per resolver:
 * - GET query strings and urlencoded forms are parsed strictly: parameters that are not JSON
 *   objects are 400 BAD_REQUEST (Yoga's parser lets JSON.parse throw, which surfaced as a 500);
 * - a body no parser reads (multipart is off: this API takes no uploads; text/plain, …) is
 *   415 BAD_REQUEST with a JSON error rather than an empty answer;
 * - a syntax error is GRAPHQL_PARSE_FAILED on every transport (Yoga codes it only over HTTP);
 * - validation errors are coded by Yoga (GRAPHQL_VALIDATION_FAILED), request-level execution
 *   errors (variable coercion) by maskError (BAD_USER_INPUT).
 */
export function useErrorCodes(): Plugin {
  return {
    onRequestParse({ request, url, requestParser, setRequestParser }) {
      if (request.method === 'GET') setRequestParser(() => paramsFromSearch(url.searchParams));
      else if (request.method === 'POST' && isFormBody(request)) {
        setRequestParser(async (r) => paramsFromSearch(new URLSearchParams(await r.text())));
      } else if (!requestParser) {
        setRequestParser(() => {
          throw badRequest('Send the operation as JSON (Content-Type: application/json) or as GET query parameters.', 415);
        });
      }
    },
    onParse() {
      return ({ result, replaceParseResult }) => {
        if (isGraphQLError(result) && !hasCode(result)) {
          replaceParseResult(withExtensions(result, { code: GraphQLErrorCode.ParseFailed, http: { spec: true, status: 400 } }));
        }
      };
    },
  };
}

export interface GatewayYogaOptions {
  /** Aborted when the graceful shutdown starts: subscription streams then end. */
  drain?: AbortSignal;
  /** More Envelop plugins (tracing), run after the front door's; each typed by its own context. */
  plugins?: readonly object[];
  /** The GraphiQL page (served from the gateway itself: ops/graphiql.ts). */
  renderGraphiQL?: (options?: GraphiQLOptions) => string;
}

/** The GraphQL application of one instance, with its document limits and shutdown behaviour. */
export function createGatewayYoga(frontDoor: FrontDoor, options: GatewayYogaOptions = {}): GatewayYoga {
  const { services } = frontDoor;
  const schema = buildSchema();
  observeIdempotentWrites(schema);
  return createYoga<ServerContext, GatewayContext>({
    schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    logging: false,
    graphiql: {
      title: 'customer-gateway',
      subscriptionsProtocol: 'WS',
      // Where the key goes; a placeholder, never a real key in the page (nor kept in the browser's storage).
      defaultHeaders: DEFAULT_HEADERS,
      headers: DEFAULT_HEADERS,
      shouldPersistHeaders: false,
    },
    ...(options.renderGraphiQL ? { renderGraphiQL: options.renderGraphiQL } : {}),
    context: ({ request, exchange }) => httpContext(frontDoor, exchange, request.headers.get('authorization')),
    maskedErrors: { maskError: (error) => maskError(services, error) },
    multipart: false,
    // server.ts reads every body itself, bounded by GRAPHQL_MAX_BODY_BYTES (http/body.ts: 413
    // before Yoga runs), and hands Yoga the bytes. Yoga's own limit would pipe those bytes again
    // through a counting TransformStream on every request (4–5 % of the process's CPU under
    // GraphQL replays, issue 12) to check a bound already enforced.
    maxRequestBodySize: false,
    plugins: [
      useCompiledExecution(),
      useSharedSubscriptionExecution(),
      useFrontDoor(frontDoor),
      useErrorCodes(),
      ...operationLimitPlugins(services.config.graphqlLimits),
      ...(options.drain ? [endSubscriptionsOnDrain(options.drain)] : []),
      ...(options.plugins ?? []),
    ],
  });
}

// Builds the GraphQL application (Yoga over the Pothos schema). It never listens: server.ts
// mounts it on HTTP and WebSocket.
import { GraphQLError } from 'graphql';
import { createYoga, type GraphQLParams, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import { isDatabaseUnavailable, UNAVAILABLE_RETRY_AFTER_SECONDS } from '../db/errors.js';
import { InvalidCursorError } from '../lib/cursor.js';
import type { Services } from '../services.js';
import { buildContext, GraphQLErrorCode, type GatewayContext } from './context.js';
import { endSubscriptionsOnDrain } from './drain.js';
import { operationLimitPlugins } from './limits.js';
import { buildSchema } from './schema/index.js';

/** What the HTTP server hands to Yoga for each request. */
export interface ServerContext {
  requestId: string;
}

export type GatewayYoga = YogaServerInstance<ServerContext, GatewayContext>;

/**
 * Keeps expected errors (our GraphQLErrors, bad cursors) and maps a lost database to 503
 * UNAVAILABLE; everything else is masked, logged with the request id, never shown.
 */
export function maskError(services: Services, error: unknown, requestId?: string): GraphQLError {
  const original = isGraphQLError(error) ? error.originalError : error;
  if (isGraphQLError(error) && (!original || isGraphQLError(original))) {
    if (hasCode(error)) return error;
    // graphql-js raises these without a code. With no path, the request itself was refused
    // before execution (variable coercion, operation selection): the client's input. With a
    // path, a field failed to resolve or serialise (an enum or scalar refusing our own value):
    // ours, so masked below like any unexpected error.
    if (!error.path) return withExtensions(error, { code: GraphQLErrorCode.BadUserInput, http: { spec: true, status: 400 } });
  }
  const path = isGraphQLError(error) ? error.path : undefined;
  if (original instanceof InvalidCursorError) {
    return new GraphQLError(original.message, { path, extensions: { code: GraphQLErrorCode.BadUserInput } });
  }
  if (isDatabaseUnavailable(original)) {
    services.log.warn('database unavailable', { requestId, error: String((original as Error)?.message ?? original) });
    return new GraphQLError('The service is temporarily unavailable; retry shortly.', {
      path,
      extensions: {
        code: GraphQLErrorCode.Unavailable,
        http: { status: 503, headers: { 'Retry-After': String(UNAVAILABLE_RETRY_AFTER_SECONDS) } },
      },
    });
  }
  services.log.error('unexpected error', { requestId, error: String((original as Error)?.stack ?? original) });
  return new GraphQLError('Unexpected error.', { path, extensions: { code: GraphQLErrorCode.Internal, requestId } });
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
function withExtensions(error: GraphQLError, extensions: Record<string, unknown>): GraphQLError {
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
}

/** The GraphQL application of one instance, with its document limits and shutdown behaviour. */
export function createGatewayYoga(services: Services, options: GatewayYogaOptions = {}): GatewayYoga {
  return createYoga<ServerContext, GatewayContext>({
    schema: buildSchema(),
    graphqlEndpoint: '/graphql',
    landingPage: false,
    logging: false,
    graphiql: { title: 'customer-gateway', subscriptionsProtocol: 'WS' },
    context: ({ request, requestId }) => buildContext(services, request.headers.get('authorization'), requestId),
    maskedErrors: { maskError: (error) => maskError(services, error) },
    multipart: false,
    maxRequestBodySize: services.config.graphqlLimits.maxBodyBytes,
    plugins: [
      useErrorCodes(),
      ...operationLimitPlugins(services.config.graphqlLimits),
      ...(options.drain ? [endSubscriptionsOnDrain(options.drain)] : []),
    ],
  });
}

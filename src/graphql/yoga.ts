// Builds the GraphQL application (Yoga over the Pothos schema). It never listens: server.ts
// mounts it on HTTP and WebSocket.
import { GraphQLError } from 'graphql';
import { createYoga, type YogaServerInstance } from 'graphql-yoga';
import { isDatabaseUnavailable } from '../db/errors.js';
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
  if (isGraphQLError(error) && (!original || isGraphQLError(original))) return error;
  const path = isGraphQLError(error) ? error.path : undefined;
  if (original instanceof InvalidCursorError) {
    return new GraphQLError(original.message, { path, extensions: { code: GraphQLErrorCode.BadUserInput } });
  }
  if (isDatabaseUnavailable(original)) {
    services.log.warn('database unavailable', { requestId, error: String((original as Error)?.message ?? original) });
    return new GraphQLError('The service is temporarily unavailable; retry shortly.', {
      path,
      extensions: { code: GraphQLErrorCode.Unavailable, http: { status: 503, headers: { 'Retry-After': '1' } } },
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
    maxRequestBodySize: services.config.graphqlLimits.maxBodyBytes,
    plugins: [...operationLimitPlugins(services.config.graphqlLimits), ...(options.drain ? [endSubscriptionsOnDrain(options.drain)] : [])],
  });
}

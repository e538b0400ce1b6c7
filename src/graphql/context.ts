// The GraphQL context and the GraphQL error codes. One context factory builds it for HTTP and
// WebSocket alike (front-door/graphql.ts): the key comes from the Authorization header or the
// connection_init payload, is verified once by the front door, and the context carries the
// caller, the request's id and logger, and its DataLoaders (never module globals).
import type { Principal } from '../auth/api-keys.js';
import type { Exchange } from '../front-door/exchange.js';
import { graphqlError } from '../front-door/failures.js';
import type { Logger } from '../ops/logger.js';
import type { Services } from '../services.js';
import type { Loaders } from './loaders.js';

export const GraphQLErrorCode = {
  Unauthenticated: 'UNAUTHENTICATED',
  Forbidden: 'FORBIDDEN',
  RateLimited: 'RATE_LIMITED',
  BadUserInput: 'BAD_USER_INPUT',
  /** The HTTP request itself is unusable (parameters that are not JSON, a body no parser reads). */
  BadRequest: 'BAD_REQUEST',
  /** The document is not valid GraphQL syntax. */
  ParseFailed: 'GRAPHQL_PARSE_FAILED',
  /** The document does not validate against the schema. */
  ValidationFailed: 'GRAPHQL_VALIDATION_FAILED',
  Unavailable: 'UNAVAILABLE',
  Internal: 'INTERNAL_SERVER_ERROR',
  /** A subscriber's buffer filled up: it was disconnected and may resume with its last cursor. */
  SubscriberTooSlow: 'SUBSCRIBER_TOO_SLOW',
  /** A subscription cursor older than the event retention. */
  CursorExpired: 'CURSOR_EXPIRED',
  /** Document limits (SPEC section 9, graphql/limits.ts): each names the limit that rejected it. */
  MaxDepthExceeded: 'MAX_DEPTH_EXCEEDED',
  MaxAliasesExceeded: 'MAX_ALIASES_EXCEEDED',
  MaxTokensExceeded: 'MAX_TOKENS_EXCEEDED',
  MaxDirectivesExceeded: 'MAX_DIRECTIVES_EXCEEDED',
  MaxVariablesExceeded: 'MAX_VARIABLES_EXCEEDED',
  DocumentTooLarge: 'DOCUMENT_TOO_LARGE',
  MaxCostExceeded: 'MAX_COST_EXCEEDED',
  /** The HTTP body is over GRAPHQL_MAX_BODY_BYTES (the code Yoga's own body limit uses). */
  RequestTooLarge: 'REQUEST_ENTITY_TOO_LARGE',
  /** Too many operations in progress on one graphql-ws connection. */
  MaxSubscriptionsExceeded: 'MAX_SUBSCRIPTIONS_EXCEEDED',
  /** The document has no operation of the requested name (or several and no name). */
  OperationResolutionFailure: 'OPERATION_RESOLUTION_FAILURE',
} as const;

export interface GatewayContext {
  services: Services;
  /** The verified caller; null when no key was sent (only introspection answers then). */
  principal: Principal | null;
  requestId: string;
  /** The request's logger: every line carries its request id. */
  log: Logger;
  /** The front door's record of this request (access line, metrics). */
  exchange: Exchange;
  loaders: Loaders;
}

/**
 * The caller of a field guarded by `authScopes`: scope-auth has already refused anonymous
 * callers, so this only turns that guarantee into a type (no `!` on the principal).
 */
export function principalOf(ctx: GatewayContext): Principal {
  if (!ctx.principal) throw graphqlError({ kind: 'unauthenticated', reason: 'missing' }, ctx.requestId);
  return ctx.principal;
}

// One context factory for HTTP and WebSocket: the key comes from the Authorization header or
// the connection_init payload, is verified once, and the context carries the caller's
// organisation, scopes and this request's DataLoaders (never module globals).
import { GraphQLError } from 'graphql';
import { bearerToken, type Principal } from '../auth/api-keys.js';
import type { Services } from '../services.js';
import { createLoaders, type Loaders } from './loaders.js';

export const GraphQLErrorCode = {
  Unauthenticated: 'UNAUTHENTICATED',
  Forbidden: 'FORBIDDEN',
  RateLimited: 'RATE_LIMITED',
  BadUserInput: 'BAD_USER_INPUT',
  /** The HTTP request itself is unusable (parameters that are not JSON, a body no parser reads). */
  BadRequest: 'BAD_REQUEST',
  /** The document is not valid GraphQL syntax. */
  ParseFailed: 'GRAPHQL_PARSE_FAILED',
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
} as const;

export interface GatewayContext {
  services: Services;
  principal: Principal | null;
  requestId: string;
  loaders: Loaders;
}

export function unauthenticated(message = 'A valid API key is required (Authorization: Bearer <key>).'): GraphQLError {
  return new GraphQLError(message, {
    extensions: { code: GraphQLErrorCode.Unauthenticated, http: { status: 401, headers: { 'WWW-Authenticate': 'Bearer' } } },
  });
}

/**
 * The caller of a field guarded by `authScopes`: scope-auth has already refused anonymous
 * callers, so this only turns that guarantee into a type (no `!` on the principal).
 */
export function principalOf(ctx: GatewayContext): Principal {
  if (!ctx.principal) throw unauthenticated();
  return ctx.principal;
}

/** Spends one request of the key's allowance; over the limit → RATE_LIMITED (HTTP 429). */
export async function enforceRateLimit(services: Services, principal: Principal): Promise<void> {
  const decision = await services.rateLimiter.take(principal);
  if (decision.allowed) return;
  throw new GraphQLError(
    `Rate limit of ${decision.limit} requests per ${decision.windowSeconds} s exceeded; retry in ${decision.retryAfterSeconds} s.`,
    {
      extensions: {
        code: GraphQLErrorCode.RateLimited,
        limit: decision.limit,
        windowSeconds: decision.windowSeconds,
        http: { status: 429, headers: { 'Retry-After': String(decision.retryAfterSeconds) } },
      },
    },
  );
}

/**
 * Verifies the presented key. No key at all gives an anonymous context (introspection and
 * GraphiQL work; every data field then answers UNAUTHENTICATED); a bad key fails the whole
 * request with UNAUTHENTICATED (HTTP 401).
 */
export async function buildContext(
  services: Services,
  authorization: string | null | undefined,
  requestId: string,
): Promise<GatewayContext> {
  const token = bearerToken(authorization);
  let principal: Principal | null = null;
  if (token === null) throw unauthenticated('The Authorization header must be "Bearer <key>".');
  if (token !== undefined) {
    principal = await services.keys.verify(token);
    if (!principal) throw unauthenticated('The API key is unknown, revoked or expired.');
    await enforceRateLimit(services, principal);
  }
  return { services, principal, requestId, loaders: createLoaders(services, principal) };
}

// Why a request was refused at the entrance, as one closed union, and its rendering on each
// surface: the REST envelope (SPEC section 6), a GraphQL error with `extensions.code` (section
// 7), and a WebSocket close (graphql-ws). Every surface renders these and nothing else, so a
// 401, 403, 429, 503 or masked 500 looks the same wherever it is met.
import { GraphQLError } from 'graphql';
import type { Scope } from '../auth/scopes.js';
import { classifyDatabaseError, DatabaseErrorKind, UNAVAILABLE_RETRY_AFTER_SECONDS } from '../db/errors.js';
import { GraphQLErrorCode } from '../graphql/context.js';
import { ErrorCode } from '../lib/error-codes.js';
import type { Logger } from '../ops/logger.js';
import { RestError } from '../rest/errors.js';

export type Failure =
  /** No key where one is needed (`missing`), an Authorization value that is not `Bearer <key>`, or a key that does not verify. */
  | { kind: 'unauthenticated'; reason: 'missing' | 'malformed' | 'rejected' }
  /** The key lacks `scope`. */
  | { kind: 'forbidden'; scope: Scope }
  | { kind: 'rate_limited'; limit: number; windowSeconds: number; retryAfterSeconds: number }
  /** The database cannot be used right now (SPEC section 9), or the instance is shutting down. */
  | { kind: 'unavailable'; reason: 'database' | 'shutting_down' }
  /** Our failure: masked, logged with the request id. */
  | { kind: 'internal' };

export type FailureKind = Failure['kind'];

/** RFC 6455 close codes used for refused graphql-ws connections (graphql-ws keeps 4400–4499 for its protocol). */
export const WsCloseCode = {
  /** graphql-ws's own code for a connection without a valid key. */
  Unauthorized: 4401,
  Forbidden: 4403,
  /** The server is going away (graceful shutdown); resume elsewhere with the last cursor. */
  GoingAway: 1001,
  /** A message over WS_MAX_MESSAGE_BYTES (sent by ws itself). */
  MessageTooBig: 1009,
  /** An unexpected condition on our side. */
  InternalError: 1011,
  /** Try again later: the database is unavailable or the instance is shutting down. Clients reconnect. */
  TryAgainLater: 1013,
} as const;

const UNAUTHENTICATED_MESSAGES: Record<Extract<Failure, { kind: 'unauthenticated' }>['reason'], string> = {
  missing: 'A valid API key is required (Authorization: Bearer <key>).',
  malformed: 'The Authorization header must be "Bearer <key>".',
  rejected: 'The API key is malformed, unknown, revoked or expired.',
};
const UNAVAILABLE_MESSAGES: Record<Extract<Failure, { kind: 'unavailable' }>['reason'], string> = {
  database: 'The service is temporarily unavailable; retry shortly.',
  shutting_down: 'The gateway is shutting down; retry shortly.',
};
const INTERNAL_MESSAGE = 'Unexpected error.';

/** The one human message of a failure, the same on every surface. */
export function failureMessage(f: Failure): string {
  switch (f.kind) {
    case 'unauthenticated':
      return UNAUTHENTICATED_MESSAGES[f.reason];
    case 'forbidden':
      return `This key lacks the ${f.scope} scope.`;
    case 'rate_limited':
      return `Rate limit of ${f.limit} requests per ${f.windowSeconds} s exceeded; retry in ${f.retryAfterSeconds} s.`;
    case 'unavailable':
      return UNAVAILABLE_MESSAGES[f.reason];
    case 'internal':
      return INTERNAL_MESSAGE;
  }
}

/** The HTTP status a failure answers, on REST and GraphQL alike (also the `status` label of a WebSocket operation). */
export function failureStatus(f: Failure): number {
  return restError(f).status;
}

/**
 * What a thrown error means at the entrance: a lost database is `unavailable` (503, logged at
 * warn); anything else is `internal` (500, logged at error with its stack). Never shown to clients.
 */
export function failureFromError(error: unknown, log: Logger): Failure {
  const verdict = classifyDatabaseError(error);
  if (verdict.kind === DatabaseErrorKind.Unavailable) {
    log.warn({ dbCode: verdict.code, err: error }, 'database unavailable');
    return { kind: 'unavailable', reason: 'database' };
  }
  log.error({ err: error }, 'unexpected error');
  return { kind: 'internal' };
}

/** REST: the error envelope (SPEC section 6). */
export function restError(f: Failure): RestError {
  const message = failureMessage(f);
  switch (f.kind) {
    case 'unauthenticated':
      return new RestError(ErrorCode.Unauthorized, message, {}, { 'WWW-Authenticate': 'Bearer' });
    case 'forbidden':
      return new RestError(ErrorCode.Forbidden, message, { required_scope: f.scope });
    case 'rate_limited':
      return new RestError(
        ErrorCode.RateLimited,
        message,
        { limit: f.limit, window_seconds: f.windowSeconds },
        { 'Retry-After': String(f.retryAfterSeconds) },
      );
    case 'unavailable':
      return new RestError(ErrorCode.Unavailable, message, {}, { 'Retry-After': String(UNAVAILABLE_RETRY_AFTER_SECONDS) });
    case 'internal':
      return new RestError(ErrorCode.Internal, `${message} Quote the X-Request-Id header when reporting it.`);
  }
}

/**
 * GraphQL: one error with `extensions.code` and the HTTP status it answers over HTTP. A
 * field-level failure (`path` given) keeps HTTP 200: its sibling fields still resolved.
 */
export function graphqlError(f: Failure, requestId: string | null, path?: readonly (string | number)[]): GraphQLError {
  const message = failureMessage(f);
  const http = (status: number, headers?: Record<string, string>) => (path ? {} : { http: { status, ...(headers ? { headers } : {}) } });
  switch (f.kind) {
    case 'unauthenticated':
      return new GraphQLError(message, {
        path,
        extensions: { code: GraphQLErrorCode.Unauthenticated, http: { status: 401, headers: { 'WWW-Authenticate': 'Bearer' } } },
      });
    case 'forbidden':
      return new GraphQLError(message, { path, extensions: { code: GraphQLErrorCode.Forbidden, requiredScope: f.scope } });
    case 'rate_limited':
      return new GraphQLError(message, {
        path,
        extensions: {
          code: GraphQLErrorCode.RateLimited,
          limit: f.limit,
          windowSeconds: f.windowSeconds,
          http: { status: 429, headers: { 'Retry-After': String(f.retryAfterSeconds) } },
        },
      });
    case 'unavailable':
      // 503 even for a field: the database is gone for every field, and clients should retry.
      return new GraphQLError(message, {
        path,
        extensions: {
          code: GraphQLErrorCode.Unavailable,
          http: { status: 503, headers: { 'Retry-After': String(UNAVAILABLE_RETRY_AFTER_SECONDS) } },
        },
      });
    case 'internal':
      return new GraphQLError(message, {
        path,
        extensions: { code: GraphQLErrorCode.Internal, ...(requestId ? { requestId } : {}), ...http(500) },
      });
  }
}

/** graphql-ws: how a connection refused in `onConnect` is closed (reason ≤ 123 bytes, nothing internal). */
export function wsClose(f: Failure): { code: number; reason: string } {
  switch (f.kind) {
    case 'unauthenticated':
      return { code: WsCloseCode.Unauthorized, reason: 'Unauthorized: a valid API key is required in connection_init' };
    case 'forbidden':
      return { code: WsCloseCode.Forbidden, reason: 'Forbidden' };
    case 'rate_limited':
    case 'unavailable':
      return { code: WsCloseCode.TryAgainLater, reason: 'Try again later: the service is temporarily unavailable' };
    case 'internal':
      return { code: WsCloseCode.InternalError, reason: 'Internal error' };
  }
}

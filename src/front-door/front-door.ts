// The front door: the one entrance of every surface (GraphQL over HTTP and SSE, each graphql-ws
// operation, REST). It names the request (request id, child logger), reads the bearer token,
// verifies the key, spends the rate limit, checks scopes, and turns thrown errors into typed
// failures (failures.ts); it ends every request with one access line and its metrics. The
// surfaces only render its outcomes in their own shape.
import { randomUUID } from 'node:crypto';
import { bearerToken, type Principal } from '../auth/api-keys.js';
import type { Scope } from '../auth/scopes.js';
import type { GatewayMetrics, IdempotencyResult, Surface } from '../ops/metrics.js';
import type { Services } from '../services.js';
import { Exchange } from './exchange.js';
import { failureFromError, type Failure } from './failures.js';

/** The result of the entrance checks: the caller (null: no key presented, where that is allowed), or why not. */
export type Admission = { ok: true; principal: Principal | null } | { ok: false; failure: Failure };
/** As Admission, where a key is required. */
export type KeyAdmission = { ok: true; principal: Principal } | { ok: false; failure: Failure };

/** A client's X-Request-Id is kept when it is a short token; anything else is replaced. */
const REQUEST_ID = /^[\w.-]{1,128}$/;

/** Operation names are chosen by clients: label values are bounded in length and in number. */
export const OPERATION_NAME_MAX_LENGTH = 64;
export const OPERATION_NAMES_MAX = 200;
export const OperationLabel = {
  /** A GraphQL request without an operation name. */
  Anonymous: 'anonymous',
  /** A name that is not a GraphQL name of at most 64 characters, or one past the first 200 distinct names. */
  Other: 'other',
  /** A path no route matches. */
  Unmatched: 'unmatched',
  /** A GraphQL request whose operation was never read (the GraphiQL page, an unreadable body). */
  None: 'none',
} as const;
const GRAPHQL_NAME = new RegExp(`^[_A-Za-z][_0-9A-Za-z]{0,${OPERATION_NAME_MAX_LENGTH - 1}}$`);

function requireKey(admission: Admission): KeyAdmission {
  if (!admission.ok) return admission;
  if (!admission.principal) return { ok: false, failure: { kind: 'unauthenticated', reason: 'missing' } };
  return { ok: true, principal: admission.principal };
}

export class FrontDoor {
  private readonly operationNames = new Set<string>();

  constructor(
    readonly services: Services,
    readonly metrics: GatewayMetrics,
  ) {}

  /** Opens an exchange: the client's request id when well-formed (else a fresh one) and a child logger carrying it. */
  open(surface: Surface, operation: string, incomingRequestId?: string | string[] | null, bindings: Record<string, string> = {}): Exchange {
    const requestId = typeof incomingRequestId === 'string' && REQUEST_ID.test(incomingRequestId) ? incomingRequestId : randomUUID();
    return new Exchange(surface, requestId, this.services.log.child({ requestId, ...bindings }), operation);
  }

  /** The metric label of a client-chosen GraphQL operation name (bounded: see OperationLabel). */
  operationLabel(name: unknown): string {
    if (name === undefined || name === null || name === '') return OperationLabel.Anonymous;
    if (typeof name !== 'string' || !GRAPHQL_NAME.test(name)) return OperationLabel.Other;
    if (this.operationNames.has(name)) return name;
    if (this.operationNames.size >= OPERATION_NAMES_MAX) return OperationLabel.Other;
    this.operationNames.add(name);
    return name;
  }

  /**
   * Reads `Authorization: Bearer <key>` and verifies the key. No header at all is an anonymous
   * admission (GraphQL answers introspection without a key); a bad header or key is refused.
   */
  async authenticate(authorization: unknown, ex: Exchange): Promise<Admission> {
    const token = bearerToken(typeof authorization === 'string' ? authorization : undefined);
    if (token === undefined) return { ok: true, principal: null };
    if (token === null) return { ok: false, failure: { kind: 'unauthenticated', reason: 'malformed' } };
    try {
      const principal = await this.services.keys.verify(token);
      if (!principal) return { ok: false, failure: { kind: 'unauthenticated', reason: 'rejected' } };
      ex.principal = principal;
      return { ok: true, principal };
    } catch (error) {
      return { ok: false, failure: this.fail(error, ex) };
    }
  }

  /** Spends one request of the key's allowance; the failure when over the limit (or when the limiter cannot run). */
  async limit(principal: Principal, ex: Exchange): Promise<Failure | null> {
    try {
      const decision = await this.services.rateLimiter.take(principal);
      if (decision.allowed) return null;
      this.metrics.rateLimit(ex.surface);
      const { limit, windowSeconds, retryAfterSeconds } = decision;
      return { kind: 'rate_limited', limit, windowSeconds, retryAfterSeconds };
    } catch (error) {
      return this.fail(error, ex);
    }
  }

  /** Authentication then the rate limit (unauthenticated requests are not counted). */
  async admit(authorization: unknown, ex: Exchange): Promise<Admission> {
    const admission = await this.authenticate(authorization, ex);
    if (!admission.ok || !admission.principal) return admission;
    const refused = await this.limit(admission.principal, ex);
    return refused ? { ok: false, failure: refused } : admission;
  }

  /** As authenticate, where a key is required: no key at all is `unauthenticated` (graphql-ws connections). */
  async authenticateKey(authorization: unknown, ex: Exchange): Promise<KeyAdmission> {
    return requireKey(await this.authenticate(authorization, ex));
  }

  /** As admit, where a key is required: no key at all is `unauthenticated` (REST). */
  async admitKey(authorization: unknown, ex: Exchange): Promise<KeyAdmission> {
    return requireKey(await this.admit(authorization, ex));
  }

  /** The failure when the caller lacks `scope`. */
  authorize(principal: Principal, scope: Scope): Failure | null {
    return principal.scopes.includes(scope) ? null : { kind: 'forbidden', scope };
  }

  /** What a thrown error means (503 for a lost database, else 500), logged with the request id. */
  fail(error: unknown, ex: Exchange): Failure {
    return failureFromError(error, ex.log);
  }

  /** Records an idempotent write that did not run. */
  noteIdempotency(ex: Exchange, result: IdempotencyResult): void {
    ex.idempotency.push(result);
  }

  /**
   * Ends an exchange: one access line (surface, route or operation, status, outcome, duration,
   * key and organisation ids; never a body, a header value or a key) and its metrics. Once only.
   */
  finish(ex: Exchange, status: number, extra: Record<string, unknown> = {}): void {
    if (!ex.end()) return;
    const seconds = ex.elapsedSeconds();
    const outcome = ex.outcome(status);
    const p = ex.principal;
    ex.log.info(
      {
        surface: ex.surface,
        route: ex.route,
        operation: ex.operation,
        status,
        outcome,
        durationMs: Math.round(seconds * 1e4) / 10,
        keyId: p?.keyId ?? null,
        orgId: p?.orgId ?? null,
        ...(ex.errorCodes.length ? { errors: ex.errorCodes } : {}),
        ...(ex.idempotency.length ? { idempotency: ex.idempotency } : {}),
        ...extra,
      },
      'access',
    );
    this.metrics.request({ surface: ex.surface, operation: ex.operation, status, outcome, durationSeconds: seconds, stream: ex.stream });
    for (const code of ex.errorCodes) this.metrics.graphqlError(ex.surface, code);
    for (const result of ex.idempotency) this.metrics.idempotentWrite(ex.surface, result);
  }
}

// The REST compatibility route /api/v1 (SPEC section 6): routing and body parsing; the key,
// the rate limit, the scope and the mapping of failures are the front door's, rendered here in
// the error envelope. Handlers (customers.ts) stay thin.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Principal } from '../auth/api-keys.js';
import type { Scope } from '../auth/scopes.js';
import type { Exchange } from '../front-door/exchange.js';
import { restError } from '../front-door/failures.js';
import type { FrontDoor } from '../front-door/front-door.js';
import { BodyTooLargeError, ClientGoneError, readBody } from '../http/body.js';
import { ErrorCode } from '../lib/error-codes.js';
import { IdempotencyResult } from '../ops/metrics.js';
import type { Services } from '../services.js';
import { REPLAYED_HEADER } from './customer-writes.js';
import { RestError } from './errors.js';

export const REST_PREFIX = '/api/v1';
/** Request bodies above this size are refused with 413 before being read in full. */
export const MAX_BODY_BYTES = 64 * 1024;

export interface RestRequest {
  services: Services;
  principal: Principal;
  requestId: string;
  params: Record<string, string>;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  /** The parsed JSON object body (write routes only). */
  body: Record<string, unknown>;
}

export interface RestResponse {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export interface Route {
  method: 'GET' | 'POST' | 'PATCH';
  /** Path below /api/v1 with `{name}` parameters, e.g. `/customers/{id}`. */
  path: string;
  scope: Scope;
  handler: (req: RestRequest) => Promise<RestResponse>;
}

/** A route that needs no key (the OpenAPI document). */
export interface PublicRoute {
  method: 'GET';
  path: string;
  handler: () => RestResponse;
}

interface CompiledRoute<R> {
  route: R;
  pattern: RegExp;
  names: string[];
}

function compile<R extends { path: string }>(route: R): CompiledRoute<R> {
  const names: string[] = [];
  const source = route.path.replace(/\{(\w+)\}/g, (_m, name: string) => {
    names.push(name);
    return '([^/]+)';
  });
  return { route, pattern: new RegExp(`^${source}/?$`), names };
}

/** Writes a JSON response (REST bodies, and the server's own answers outside the routes). */
export function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(payload), ...headers });
  res.end(payload);
}

async function readJsonObject(req: IncomingMessage): Promise<Record<string, unknown>> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') {
    throw new RestError(ErrorCode.UnsupportedMediaType, 'Send the body as JSON with Content-Type: application/json.');
  }
  let body: Buffer;
  try {
    body = await readBody(req, MAX_BODY_BYTES);
  } catch (error) {
    if (error instanceof BodyTooLargeError) {
      throw new RestError(ErrorCode.PayloadTooLarge, error.message, { max_bytes: error.maxBytes });
    }
    throw error;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw new RestError(ErrorCode.InvalidRequest, 'The body is not valid JSON.');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new RestError(ErrorCode.InvalidRequest, 'The body must be a JSON object.');
  }
  return parsed as Record<string, unknown>;
}

/** The idempotency outcome an answer reports (a replay header, or an idempotency refusal). */
function idempotencyOf(code: ErrorCode | null, headers: Record<string, string> | undefined): IdempotencyResult | null {
  if (code === ErrorCode.IdempotencyConflict) return IdempotencyResult.Conflict;
  if (code === ErrorCode.IdempotencyInProgress) return IdempotencyResult.InProgress;
  return headers?.[REPLAYED_HEADER] === 'true' ? IdempotencyResult.Replayed : null;
}

/**
 * Builds the /api/v1 request handler over a table of routes. Order of checks: route (404) →
 * key (401) → rate limit (429) → scope (403) → the route's own (415, 413, 400, 422…); the
 * key, limit and scope checks and every unexpected failure are the front door's.
 */
export function createRestHandler(frontDoor: FrontDoor, routes: Route[], publicRoutes: PublicRoute[] = []) {
  const { services } = frontDoor;
  const compiled = routes.map(compile);
  const compiledPublic = publicRoutes.map(compile);

  const answer = (res: ServerResponse, ex: Exchange, out: RestResponse | RestError): void => {
    const isError = out instanceof RestError;
    const idempotency = idempotencyOf(isError ? out.code : null, out.headers);
    if (idempotency) frontDoor.noteIdempotency(ex, idempotency);
    if (isError) return send(res, out.status, out.body(), out.headers);
    send(res, out.status, out.body, out.headers);
  };

  return async function handle(req: IncomingMessage, res: ServerResponse, ex: Exchange): Promise<void> {
    try {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const path = url.pathname.slice(REST_PREFIX.length) || '/';
      const method = req.method ?? 'GET';

      for (const { route, pattern } of compiledPublic) {
        if (route.method === method && pattern.test(path)) {
          ex.route = `${REST_PREFIX}${route.path}`;
          ex.operation = `${method} ${ex.route}`;
          return answer(res, ex, route.handler());
        }
      }
      let match: { c: CompiledRoute<Route>; values: string[] } | undefined;
      for (const c of compiled) {
        const m = c.route.method === method ? c.pattern.exec(path) : null;
        if (m) {
          match = { c, values: m.slice(1) };
          break;
        }
      }
      if (!match) throw new RestError(ErrorCode.NotFound, `No route ${method} ${url.pathname}.`);
      const { route, names } = match.c;
      ex.route = `${REST_PREFIX}${route.path}`;
      ex.operation = `${method} ${ex.route}`;

      const admission = await frontDoor.admitKey(req.headers.authorization, ex);
      if (!admission.ok) throw restError(admission.failure);
      const principal = admission.principal;
      const forbidden = frontDoor.authorize(principal, route.scope);
      if (forbidden) throw restError(forbidden);
      const params: Record<string, string> = {};
      names.forEach((name, i) => {
        params[name] = decodeURIComponent(match.values[i]!);
      });
      const body = route.method === 'GET' ? {} : await readJsonObject(req);
      const out = await route.handler({
        services,
        principal,
        requestId: ex.requestId,
        params,
        query: url.searchParams,
        headers: req.headers,
        body,
      });
      answer(res, ex, out);
    } catch (error) {
      if (error instanceof RestError) return answer(res, ex, error);
      if (error instanceof ClientGoneError) {
        ex.log.debug('client went away while sending its body');
        return void res.destroy();
      }
      if (error instanceof URIError) return answer(res, ex, new RestError(ErrorCode.NotFound, 'No such resource.'));
      const failure = restError(frontDoor.fail(error, ex));
      if (!res.headersSent) answer(res, ex, failure);
      else res.destroy();
    }
  };
}

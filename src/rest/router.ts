// The REST compatibility route /api/v1 (SPEC section 6): routing, authentication, rate
// limits, scopes, body parsing, and the error envelope. Handlers (customers.ts) stay thin.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { bearerToken, type Principal } from '../auth/api-keys.js';
import type { Scope } from '../auth/scopes.js';
import { isDatabaseUnavailable, UNAVAILABLE_RETRY_AFTER_SECONDS } from '../db/errors.js';
import { ErrorCode } from '../lib/error-codes.js';
import type { Services } from '../services.js';
import { BodyTooLargeError, ClientGoneError, readBody } from '../http/body.js';
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

/** Builds the /api/v1 request handler over a table of routes. */
export function createRestHandler(services: Services, routes: Route[], publicRoutes: PublicRoute[] = []) {
  const compiled = routes.map(compile);
  const compiledPublic = publicRoutes.map(compile);

  return async function handle(req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void> {
    try {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const path = url.pathname.slice(REST_PREFIX.length) || '/';
      const method = req.method ?? 'GET';

      for (const { route, pattern } of compiledPublic) {
        if (route.method === method && pattern.test(path)) {
          const out = route.handler();
          return send(res, out.status, out.body, out.headers);
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

      const token = bearerToken(req.headers.authorization);
      const principal = token ? await services.keys.verify(token) : null;
      if (!principal) {
        throw new RestError(
          ErrorCode.Unauthorized,
          token === undefined
            ? 'Send an API key as Authorization: Bearer <key>.'
            : 'The API key is malformed, unknown, revoked or expired.',
          {},
          { 'WWW-Authenticate': 'Bearer' },
        );
      }
      const decision = await services.rateLimiter.take(principal);
      if (!decision.allowed) {
        throw new RestError(
          ErrorCode.RateLimited,
          `Rate limit of ${decision.limit} requests per ${decision.windowSeconds} s exceeded.`,
          { limit: decision.limit, window_seconds: decision.windowSeconds },
          { 'Retry-After': String(decision.retryAfterSeconds) },
        );
      }
      const { route, names } = match.c;
      if (!principal.scopes.includes(route.scope)) {
        throw new RestError(ErrorCode.Forbidden, `This key lacks the ${route.scope} scope.`, { required_scope: route.scope });
      }
      const params: Record<string, string> = {};
      names.forEach((name, i) => {
        params[name] = decodeURIComponent(match.values[i]!);
      });
      const body = route.method === 'GET' ? {} : await readJsonObject(req);
      const out = await route.handler({ services, principal, requestId, params, query: url.searchParams, headers: req.headers, body });
      send(res, out.status, out.body, out.headers);
    } catch (error) {
      if (error instanceof RestError) return send(res, error.status, error.body(), error.headers);
      if (error instanceof ClientGoneError) {
        services.log.debug('client went away while sending its body', { requestId });
        return void res.destroy();
      }
      if (error instanceof URIError) {
        const e = new RestError(ErrorCode.NotFound, 'No such resource.');
        return send(res, e.status, e.body());
      }
      if (isDatabaseUnavailable(error)) {
        services.log.warn('database unavailable', { requestId, error: String((error as Error)?.message ?? error) });
        const e = new RestError(
          ErrorCode.Unavailable,
          'The service is temporarily unavailable; retry shortly.',
          {},
          { 'Retry-After': String(UNAVAILABLE_RETRY_AFTER_SECONDS) },
        );
        return send(res, e.status, e.body(), e.headers);
      }
      services.log.error('unexpected error', { requestId, error: String((error as Error)?.stack ?? error) });
      const e = new RestError(ErrorCode.Internal, 'Unexpected error. Quote the X-Request-Id header when reporting it.');
      if (!res.headersSent) send(res, e.status, e.body());
      else res.destroy();
    }
  };
}

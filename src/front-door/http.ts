// The HTTP entrance: every request gets its exchange (request id, echoed in X-Request-Id;
// child logger), its trace span, and at its end one access line and its metrics, whichever
// surface serves it: GraphQL (/graphql), REST (/api/v1), or the gateway's own pages.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Surface } from '../ops/metrics.js';
import type { Tracing } from '../ops/tracing.js';
import { REST_PREFIX } from '../rest/router.js';
import type { Exchange } from './exchange.js';
import { OperationLabel, type FrontDoor } from './front-door.js';

export const GRAPHQL_PATH = '/graphql';

/** A surface's request handler; it sets `ex.route` (and `ex.operation`) as it learns them. */
export type HttpHandler = (req: IncomingMessage, res: ServerResponse, ex: Exchange) => Promise<void>;

export interface HttpSurfaces {
  graphql: HttpHandler;
  rest: HttpHandler;
  /** Everything else: health, metrics, GraphiQL assets, and the 404 of unknown paths. */
  pages: HttpHandler;
}

/** Which surface a path belongs to. */
export function surfaceOf(path: string): Surface {
  if (path === GRAPHQL_PATH || path.startsWith(`${GRAPHQL_PATH}/`)) return Surface.GraphQL;
  if (path === REST_PREFIX || path.startsWith(`${REST_PREFIX}/`)) return Surface.Rest;
  return Surface.Http;
}

/** The request listener of the HTTP server. */
export function httpEntrance(frontDoor: FrontDoor, tracing: Tracing, surfaces: HttpSurfaces) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const surface = surfaceOf(path);
    const ex = frontDoor.open(
      surface,
      surface === Surface.GraphQL ? OperationLabel.None : OperationLabel.Unmatched,
      req.headers['x-request-id'],
    );
    ex.route = surface === Surface.GraphQL ? GRAPHQL_PATH : OperationLabel.Unmatched;
    res.setHeader('X-Request-Id', ex.requestId);
    const handler = surface === Surface.GraphQL ? surfaces.graphql : surface === Surface.Rest ? surfaces.rest : surfaces.pages;
    const span = tracing.request(req.method ?? 'GET', () => {
      handler(req, res, ex).catch((error: unknown) => {
        // Handlers answer their own failures; this is the last line (a bug), never the client's fault.
        ex.log.error({ err: error }, 'unexpected error');
        res.destroy();
      });
    });
    res.once('close', () => {
      // A response cut before its end (client gone, connection destroyed) is reported as such.
      const status = res.writableFinished ? res.statusCode : 499;
      span.end(ex.route, status);
      frontDoor.finish(ex, status, { method: req.method ?? null });
    });
  };
}

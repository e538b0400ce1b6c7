// The gateway's own pages, beside the API surfaces: /livez and /healthz, /readyz, /metrics
// (unless METRICS_PORT moves it), the GraphiQL assets, the compliance dashboard (/dashboard), and
// the REST-envelope 404 of any other path.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Exchange } from '../front-door/exchange.js';
import { ErrorCode } from '../lib/error-codes.js';
import { DASHBOARD_PATH, serveDashboard } from '../pages/dashboard.js';
import { RestError } from '../rest/errors.js';
import { send } from '../rest/router.js';
import { GRAPHIQL_ASSETS_PREFIX, graphiqlAsset } from './graphiql.js';
import { LIVENESS_PATHS, READINESS_PATH, readiness, type ReadinessCheck } from './health.js';
import type { GatewayMetrics } from './metrics.js';

export const METRICS_PATH = '/metrics';

export interface PagesOptions {
  checks: readonly ReadinessCheck[];
  /** Null when the metrics are served on METRICS_PORT instead. */
  metrics: GatewayMetrics | null;
}

/** Writes the Prometheus exposition of `metrics`. */
export async function serveMetrics(metrics: GatewayMetrics, res: ServerResponse): Promise<void> {
  const body = await metrics.render();
  res.writeHead(200, { 'content-type': metrics.contentType, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(body);
}

/** The handler of every path that is not /graphql or /api/v1. */
export function opsPages(options: PagesOptions) {
  return async (req: IncomingMessage, res: ServerResponse, ex: Exchange): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const get = req.method === 'GET' || req.method === 'HEAD';
    if (LIVENESS_PATHS.includes(path)) {
      ex.route = ex.operation = path;
      return send(res, 200, { status: 'ok' });
    }
    if (path === READINESS_PATH) {
      ex.route = ex.operation = path;
      const { status, body } = await readiness(options.checks);
      return send(res, status, body);
    }
    if (get && path === METRICS_PATH && options.metrics) {
      ex.route = ex.operation = path;
      return serveMetrics(options.metrics, res);
    }
    if (get && path.startsWith(GRAPHIQL_ASSETS_PREFIX)) {
      const asset = await graphiqlAsset(path, req.headers['accept-encoding']);
      if (asset) {
        ex.route = ex.operation = `${GRAPHIQL_ASSETS_PREFIX}{asset}`;
        res.writeHead(asset.status, asset.headers);
        return void res.end(req.method === 'HEAD' ? undefined : asset.body);
      }
    }
    if (serveDashboard(req, res, path, ex.log)) {
      ex.route = ex.operation = path === DASHBOARD_PATH ? DASHBOARD_PATH : `${DASHBOARD_PATH}/{file}`;
      return;
    }
    const notFound = new RestError(ErrorCode.NotFound, 'No such route.');
    send(res, notFound.status, notFound.body());
  };
}

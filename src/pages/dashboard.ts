// GET /dashboard: the compliance dashboard, a static page built on the public GraphQL API only
// (web/dashboard/). Everything it loads comes from this gateway, under a strict
// Content-Security-Policy, so it works in a network with no internet access.
//
// Where the files come from: the compiled gateway (`npm start`, dist/) serves dist/dashboard/,
// written by `npm run build`; running from the TypeScript sources (tests, `npm run dev`), the
// page is built in memory with esbuild on its first request (pages/dashboard-bundle.ts), some
// 50 ms once per process. The sources can then never be out of step with what a test sees,
// and no build step has to run before `vitest` or `tsx`.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { ErrorCode } from '../lib/error-codes.js';
import type { Logger } from '../ops/logger.js';
import { RestError } from '../rest/errors.js';
import { send } from '../rest/router.js';

export const DASHBOARD_PATH = '/dashboard';

/** The HTML shell's name among the built files. */
const INDEX = 'index.html';

/** Built by `npm run build` next to the compiled gateway (dist/pages → dist/dashboard). */
const BUILT_DIR = fileURLToPath(new URL('../dashboard/', import.meta.url));

/** True when this module runs from its TypeScript source (tsx, vitest) rather than dist/. */
const FROM_SOURCES = import.meta.url.endsWith('.ts');

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** Assets have content-hashed names: a new build is a new URL, so they are cached for good. */
const IMMUTABLE = 'public, max-age=31536000, immutable';

/** Text below this is not worth compressing. */
const GZIP_MIN_BYTES = 1024;

interface Asset {
  body: Buffer;
  gzip: Buffer | null;
  type: string;
  etag: string;
  cacheControl: string;
}

/**
 * Headers of every dashboard response. The policy lets the page load only its own files and
 * talk only to this origin: `connect-src 'self'` covers fetch to /graphql, and the WebSocket of
 * the same host is named too (`ws:`/`wss:` under 'self' is CSP Level 3, which older browsers
 * lack). Trusted Types make any HTML injection sink throw: the page builds its DOM from nodes.
 */
function securityHeaders(req: IncomingMessage): Record<string, string> {
  const host = req.headers.host;
  // The Host header is reflected only when it is a plain host[:port]: it must not add directives.
  const socket = host && /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/.test(host) ? ` ws://${host} wss://${host}` : '';
  const csp = [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    `connect-src 'self'${socket}`,
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
    "require-trusted-types-for 'script'",
    'trusted-types',
  ].join('; ');
  return {
    'content-security-policy': csp,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
    'x-frame-options': 'DENY',
  };
}

function toAsset(name: string, contents: Uint8Array): Asset {
  const body = Buffer.from(contents);
  const type = CONTENT_TYPES[extname(name)] ?? 'application/octet-stream';
  const compressible = !type.startsWith('image/') || name.endsWith('.svg');
  return {
    body,
    gzip: compressible && body.length >= GZIP_MIN_BYTES ? gzipSync(body, { level: 9 }) : null,
    type,
    etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
    cacheControl: name === INDEX ? 'no-cache' : IMMUTABLE,
  };
}

async function loadAssets(): Promise<Map<string, Asset>> {
  let files: { name: string; contents: Uint8Array }[];
  if (FROM_SOURCES) {
    const { buildDashboardBundle } = await import('./dashboard-bundle.js');
    files = await buildDashboardBundle();
  } else {
    files = readdirSync(BUILT_DIR).map((name) => ({ name, contents: readFileSync(join(BUILT_DIR, name)) }));
  }
  if (!files.some((f) => f.name === INDEX)) throw new Error(`the dashboard has no ${INDEX} in ${BUILT_DIR}: run npm run build`);
  return new Map(files.map((f) => [f.name, toAsset(f.name, f.contents)]));
}

/** The files, loaded (or built) once per process; a failed load is retried by the next request. */
let assets: Promise<Map<string, Asset>> | undefined;

function cachedAssets(): Promise<Map<string, Asset>> {
  assets ??= loadAssets().catch((error: unknown) => {
    assets = undefined;
    throw error;
  });
  return assets;
}

function notFound(res: ServerResponse): void {
  const error = new RestError(ErrorCode.NotFound, 'No such route.');
  send(res, error.status, error.body());
}

function serveAsset(req: IncomingMessage, res: ServerResponse, asset: Asset): void {
  const headers: Record<string, string> = {
    ...securityHeaders(req),
    'content-type': asset.type,
    'cache-control': asset.cacheControl,
    etag: asset.etag,
  };
  if (asset.gzip) headers.vary = 'Accept-Encoding';
  const match = req.headers['if-none-match'];
  if (match && match.split(',').some((tag) => tag.trim().replace(/^W\//, '') === asset.etag)) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  const gzip = asset.gzip && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? '')) ? asset.gzip : null;
  if (gzip) headers['content-encoding'] = 'gzip';
  const body = gzip ?? asset.body;
  headers['content-length'] = String(body.length);
  res.writeHead(200, headers);
  res.end(req.method === 'HEAD' ? undefined : body);
}

/**
 * Serves GET/HEAD /dashboard (the page) and /dashboard/<file> (its assets); returns false for
 * any other path or method, which the server then answers like every unknown route (404).
 */
export function serveDashboard(req: IncomingMessage, res: ServerResponse, path: string, log: Logger): boolean {
  if (path !== DASHBOARD_PATH && !path.startsWith(`${DASHBOARD_PATH}/`)) return false;
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  const name = path === DASHBOARD_PATH || path === `${DASHBOARD_PATH}/` ? INDEX : path.slice(DASHBOARD_PATH.length + 1);
  cachedAssets().then(
    (files) => {
      const asset = files.get(name);
      if (asset) serveAsset(req, res, asset);
      else notFound(res);
    },
    (error: unknown) => {
      log.error({ err: error }, 'the dashboard page cannot be served');
      const failure = new RestError(ErrorCode.Internal, 'The dashboard page is unavailable.');
      send(res, failure.status, failure.body());
    },
  );
  return true;
}

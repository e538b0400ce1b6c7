// GraphiQL served by the gateway itself (SPEC section 12: it must work on a network with no
// internet access). Yoga's default page loads its scripts, styles and editor workers from a
// CDN; @graphql-yoga/render-graphiql ships the same build (fonts inlined as data URLs), which
// we serve as separate files under /graphiql/<version>/ (loaded once, cached by the browser,
// gzip-compressed once) rather than inlining 6 MB into every page.
//
// The key goes in the headers tab (a placeholder is shown, never a real key). Subscriptions
// run over graphql-ws on the same origin, whose key travels in connection_init rather than in
// a header: the page remembers the Authorization header of GraphiQL's last request to
// /graphql (the schema is fetched with the headers tab too) and sends it as `authorization`
// when the WebSocket connects.
import { createRequire } from 'node:module';
import { gzipSync } from 'node:zlib';
import type { GraphiQLOptions } from 'graphql-yoga';

const require = createRequire(import.meta.url);

/** What the headers tab shows where the key goes (never a real key in the page). */
export const KEY_PLACEHOLDER = 'Bearer <your key>';
/** The headers tab of a new GraphiQL tab. */
export const DEFAULT_HEADERS = JSON.stringify({ Authorization: KEY_PLACEHOLDER }, null, 2);
const VERSION: string = (require('@graphql-yoga/render-graphiql/package.json') as { version: string }).version;

/** Where the assets are served: versioned, so they can be cached for good. */
export const GRAPHIQL_ASSETS_PREFIX = `/graphiql/${VERSION}/`;
const ASSET_CACHE_CONTROL = 'public, max-age=31536000, immutable';

interface Asset {
  type: string;
  body: Buffer;
  gzipped: Buffer;
}

type AssetName = 'graphiql.js' | 'graphiql.css' | 'editor.worker.js' | 'json.worker.js' | 'graphql.worker.js' | 'favicon.ico';

let assets: Promise<Map<string, Asset>> | null = null;

/** The package's build, read on first use (it is large: no cost for instances nobody browses). */
function loadAssets(): Promise<Map<string, Asset>> {
  assets ??= import('@graphql-yoga/render-graphiql/graphiql').then((m) => {
    const icon = /^data:([^;]+);base64,(.*)$/.exec(m.favicon);
    const files: [AssetName, string, string | Buffer][] = [
      ['graphiql.js', 'text/javascript; charset=utf-8', m.js],
      ['graphiql.css', 'text/css; charset=utf-8', m.css],
      ['editor.worker.js', 'text/javascript; charset=utf-8', m.editorWorkerService],
      ['json.worker.js', 'text/javascript; charset=utf-8', m.jsonWorker],
      ['graphql.worker.js', 'text/javascript; charset=utf-8', m.graphqlWorker],
      ['favicon.ico', icon?.[1] ?? 'image/x-icon', Buffer.from(icon?.[2] ?? '', 'base64')],
    ];
    return new Map(
      files.map(([name, type, content]) => {
        const body = typeof content === 'string' ? Buffer.from(content) : content;
        return [name, { type, body, gzipped: gzipSync(body) }];
      }),
    );
  });
  return assets;
}

/** An asset under GRAPHIQL_ASSETS_PREFIX: status, headers and body (gzip when accepted). */
export async function graphiqlAsset(
  path: string,
  acceptEncoding: string | undefined,
): Promise<{ status: number; headers: Record<string, string>; body: Buffer } | null> {
  if (!path.startsWith(GRAPHIQL_ASSETS_PREFIX)) return null;
  const asset = (await loadAssets()).get(path.slice(GRAPHIQL_ASSETS_PREFIX.length));
  if (!asset) return null;
  const gzip = /\bgzip\b/.test(acceptEncoding ?? '');
  const body = gzip ? asset.gzipped : asset.body;
  return {
    status: 200,
    headers: {
      'content-type': asset.type,
      'content-length': String(body.length),
      'cache-control': ASSET_CACHE_CONTROL,
      vary: 'accept-encoding',
      ...(gzip ? { 'content-encoding': 'gzip' } : {}),
    },
    body,
  };
}

/** `<` escaped, so that no option value can close the script element. */
const scriptJson = (value: unknown) => JSON.stringify(value).replace(/</g, '\\u003c');

/** The GraphiQL page (Yoga's `renderGraphiQL`): everything it loads comes from this gateway. */
export function renderGraphiQL(options?: GraphiQLOptions): string {
  const a = (name: AssetName) => `${GRAPHIQL_ASSETS_PREFIX}${name}`;
  const title = (options?.title ?? 'GraphiQL').replace(/[<>&"]/g, '');
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>${title}</title>
    <link rel="icon" href="${a('favicon.ico')}" />
    <link rel="stylesheet" href="${a('graphiql.css')}" />
  </head>
  <body id="body" class="no-focus-outline">
    <noscript>GraphiQL needs JavaScript.</noscript>
    <div id="root"></div>
    <script>
      self.MonacoEnvironment = {
        globalAPI: false,
        getWorkerUrl: (moduleId, label) =>
          ({ editorWorkerService: ${scriptJson(a('editor.worker.js'))}, json: ${scriptJson(a('json.worker.js'))}, graphql: ${scriptJson(a('graphql.worker.js'))} })[label],
      };
      // The placeholder of the headers tab is not a key: it is not sent (the schema then loads
      // anonymously, as introspection needs no key). graphql-ws takes the key in
      // connection_init: reuse the Authorization of GraphiQL's last request.
      const placeholder = ${scriptJson(KEY_PLACEHOLDER)};
      let authorization = null;
      const fetchBefore = globalThis.fetch;
      globalThis.fetch = (input, init) => {
        const headers = new Headers(init && init.headers);
        if (headers.get('authorization') === placeholder) headers.delete('authorization');
        authorization = headers.get('authorization');
        return fetchBefore(input, { ...init, headers });
      };
      window.__graphiqlOptions = ${scriptJson(options ?? {})};
    </script>
    <script src="${a('graphiql.js')}"></script>
    <script>
      YogaGraphiQL.renderYogaGraphiQL(document.querySelector('#root'), {
        ...window.__graphiqlOptions,
        connectionParams: () => (authorization ? { authorization } : {}),
      });
    </script>
  </body>
</html>`;
}

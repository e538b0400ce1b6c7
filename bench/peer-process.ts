// The peer under benchmark: PostGraphile 5 over the bench's database, in its own process (forked
// by bench/lib/peer.ts), configured as a team would deploy it to serve the same dashboard page
// as the gateway (see "The PostGraphile peer" in bench/README.md):
// - the Amber preset, production mode (GRAPHILE_ENV/NODE_ENV=production), no GraphiQL, no
//   watch, no websockets, no EXPLAIN, default error masking;
// - read-only and minimal: only `allCustomers` (a connection) and each customer's events, only
//   the public columns (no phone, risk answers, org or key ids, snapshots); no Node interface,
//   no mutations, no single-row finders, no other table;
// - keys and tenancy like the gateway's: the API key (its SHA-256 looked up in an in-memory map
//   of the live keys, refreshed every 500 ms) must have customers:read and gives the
//   organisation, and every page of customers is cut by `org_id = <that organisation>` in its
//   one SQL statement; no rate limiting (PostGraphile leaves it to middleware; the gateway's
//   is in memory, one lease statement per chunk of tokens);
// - the events relation goes through (org_id, customer_id), so it walks the same
//   (org_id, customer_id, id DESC) index as the gateway's history query (PostGraphile's docs:
//   index your relations; the plain customer_id foreign key has no index of its own).
// IPC: `cpu` (process CPU time), `stats` / `reset` (statements sent), `stop`.
import './lib/node20-polyfill.js';
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import pg from 'pg';
import { postgraphile } from 'postgraphile';
import { makePgService } from 'postgraphile/adaptors/pg';
import { context, get } from 'postgraphile/grafast';
import { httpError } from 'postgraphile/grafserv';
import { grafserv } from 'postgraphile/grafserv/node';
import { TYPES } from 'postgraphile/@dataplan/pg';
import type { PgSelectStep } from 'postgraphile/@dataplan/pg';
import { PostGraphileAmberPreset } from 'postgraphile/presets/amber';
import { jsonPgSmartTags, wrapPlans } from 'postgraphile/utils';
import { cpuReply, type ServerRequest } from './lib/fork.js';

declare global {
  // Grafast's context type is a global namespace that plugins augment; a module cannot.
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Grafast {
    interface Context {
      /** The organisation of the request's API key (set by the context callback below). */
      cgOrgId: string;
    }
  }
}

const connectionString = process.env.PEER_DATABASE_URL;
if (!connectionString) throw new Error('PEER_DATABASE_URL is required');
const poolSize = Number(process.env.PEER_POOL_SIZE ?? 20);
/** How often the map of live API keys is re-read: revocation takes effect within a second, as on the gateway. */
const KEY_REFRESH_MS = 500;

// The same pool size as the gateway's; each client counts the statements it sends (the
// gateway's figure comes from Prisma's query event).
let statements = 0;
const pool = new pg.Pool({ connectionString, max: poolSize });
pool.on('error', () => {});
pool.on('connect', (client) => {
  client.on('error', () => {});
  const query = client.query.bind(client);
  client.query = ((...args: Parameters<typeof query>) => {
    statements += 1;
    return query(...args);
  }) as typeof client.query;
});

// API keys: stored as the SHA-256 hex of the whole key (SPEC section 2), read again every
// 500 ms so that a revoked or expired key stops working within a second. This API only reads
// customers, so a key needs the customers:read scope.
const READ_SCOPE = 'customers:read';
interface LiveKey {
  orgId: string;
  canRead: boolean;
}
let keys = new Map<string, LiveKey>();
async function loadKeys(): Promise<void> {
  const { rows } = await pool.query<{ key_hash: string; org_id: string; can_read: boolean }>(
    `SELECT key_hash, org_id::text, $1 = ANY (scopes) AS can_read FROM api_keys
     WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())`,
    [READ_SCOPE],
  );
  keys = new Map(rows.map((r) => [r.key_hash, { orgId: r.org_id, canRead: r.can_read }]));
}
await loadKeys();
const refresh = setInterval(() => void loadKeys().catch(() => {}), KEY_REFRESH_MS);
refresh.unref();

/** The live key of a bearer token, or null when the key is unknown, revoked or expired. */
function keyOf(authorization: string | undefined): LiveKey | null {
  const match = /^Bearer (\S+)$/.exec(authorization ?? '');
  if (!match) return null;
  return keys.get(createHash('sha256').update(match[1]!).digest('hex')) ?? null;
}

/** The organisation of each authenticated request, from ApiKeyAuth to the GraphQL context. */
const orgByRequest = new WeakMap<IncomingMessage, string>();

/** Answers 401 (unknown, revoked or expired key) or 403 (no customers:read) before any GraphQL work. */
const ApiKeyAuth: GraphileConfig.Plugin = {
  name: 'CgApiKeyAuthPlugin',
  version: '0.0.0',
  grafserv: {
    middleware: {
      processRequest(next, event) {
        const req = event.requestDigest.requestContext.node?.req;
        const key = keyOf(req?.headers.authorization);
        if (!req || key === null) return { type: 'error', statusCode: 401, headers: {}, error: httpError(401, 'invalid API key') };
        if (!key.canRead) return { type: 'error', statusCode: 403, headers: {}, error: httpError(403, `scope ${READ_SCOPE} required`) };
        orgByRequest.set(req, key.orgId);
        return next();
      },
    },
  },
};

/** Hides every table but the two the dashboard reads, and every column it must not expose. */
const hidden = { tags: { behavior: '-*' } };
const ExposeDashboardOnly = jsonPgSmartTags({
  version: 1,
  config: {
    class: {
      'public.organizations': hidden,
      'public.api_keys': hidden,
      'public.idempotency_keys': hidden,
      'public.rate_limit_windows': hidden,
      'public._prisma_migrations': hidden,
      'public.customers': {
        // (org_id, id) is unique since id is: declared so that the events can reference it.
        tags: { behavior: '-insert -update -delete -single', unique: 'org_id,id|@behavior -*' },
        attribute: {
          org_id: hidden,
          email_key: hidden,
          phone: hidden,
          risk_is_new_customer: hidden,
          risk_is_designated_service: hidden,
          risk_handles_cash_or_crypto: hidden,
        },
      },
      'public.customer_events': {
        tags: {
          behavior: '-insert -update -delete -single -query:resource:connection -query:resource:list',
          foreignKey: '(org_id, customer_id) references customers (org_id, id)|@behavior -single',
        },
        attribute: { org_id: hidden, snapshot: hidden, txid: hidden, customer_id: hidden },
        constraint: { customer_events_customer_id_fkey: hidden },
      },
    },
  },
});

/** Cuts every page of customers to the organisation of the request's key. */
const TenantCustomers = wrapPlans({
  Query: {
    // wrapPlans types the wrapped plan `any`; the connection step's own type is PostGraphile-internal.
    /* eslint-disable @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-return */
    allCustomers(plan) {
      const $connection = plan();
      const $customers = $connection.getSubplan() as PgSelectStep;
      const $orgId = get(context(), 'cgOrgId');
      $customers.where((sql) => sql`${$customers}.org_id = ${$customers.placeholder($orgId, TYPES.uuid)}`);
      return $connection;
    },
    /* eslint-enable @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-return */
  },
});

const preset: GraphileConfig.Preset = {
  extends: [PostGraphileAmberPreset],
  // Relay global ids are not part of this API (ids are the customers' UUIDs, as on the gateway).
  disablePlugins: ['NodePlugin'],
  plugins: [ApiKeyAuth, ExposeDashboardOnly, TenantCustomers],
  pgServices: [makePgService({ pool, schemas: ['public'], pubsub: false })],
  grafserv: { graphqlPath: '/graphql', graphiql: false, watch: false, websockets: false },
  grafast: {
    explain: false,
    context(requestContext) {
      const req = requestContext.node?.req;
      const orgId = req ? orgByRequest.get(req) : undefined;
      // ApiKeyAuth answered 401 to any request without a live key: this cannot happen.
      if (orgId === undefined) throw new Error('request without an authenticated organisation');
      return { cgOrgId: orgId };
    },
  },
};

const pgl = postgraphile(preset);
const serv = pgl.createServ(grafserv);
const server = createServer();
await serv.addTo(server);
if (process.env.PEER_PRINT_SCHEMA === '1') {
  const { printSchema } = await import('postgraphile/graphql');
  console.log(printSchema(await pgl.getSchema()));
}
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const address = server.address();
if (address === null || typeof address === 'string') throw new Error('peer: no TCP address');

process.on('message', (msg: ServerRequest) => {
  if (msg.type === 'reset') {
    statements = 0;
    process.send!({ type: 'reset' });
  } else if (msg.type === 'stats') {
    process.send!({ type: 'stats', statements });
  } else if (msg.type === 'cpu') {
    process.send!(cpuReply());
  } else if (msg.type === 'stop') {
    // As the gateway: let the requests the load generator dropped finish before the pool closes.
    server.close();
    void new Promise((resolve) => setTimeout(resolve, 2000))
      .then(() => pgl.release())
      .then(() => pool.end())
      .then(() => process.exit(0));
  }
});
// An orphan (the load generator died without `stop`) must not keep serving and holding connections.
process.on('disconnect', () => process.exit(1));
process.send!({ type: 'ready', port: address.port });

// A real gateway on port 0 over a test database, plus small clients for GraphQL over HTTP.
import { createApiKey } from '../../src/auth/api-keys.js';
import { ALL_SCOPES, type Scope } from '../../src/auth/scopes.js';
import { loadConfig, type Config } from '../../src/config.js';
import type { Database } from '../../src/db/client.js';
import type { Logger } from '../../src/ops/logger.js';
import { startServer, type ServerHandle } from '../../src/server.js';
import { createServices, type Services } from '../../src/services.js';

export interface TestGateway {
  services: Services;
  server: ServerHandle;
  url: string;
  /** POSTs a GraphQL operation; returns the HTTP status and the parsed body. */
  gql<T = any>(
    key: string | null,
    query: string,
    variables?: Record<string, unknown>,
  ): Promise<{ status: number; body: { data?: T; errors?: any[] }; headers: Headers }>;
  close(): Promise<void>;
}

export function testConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig({
    LOG_LEVEL: 'silent',
    PORT: '0',
    HOST: '127.0.0.1',
    RATE_LIMIT_PER_MINUTE: '100000',
    RATE_LIMIT_PER_DAY: '10000000',
    // The webhook sender polls the database in the background: off unless a suite turns it on,
    // so that suites counting statements count only their own.
    WEBHOOK_CONCURRENCY: '0',
    // Suites inject clocks and loggers into the sender, which only an inline one can take.
    WEBHOOK_SENDER_THREAD: 'false',
    ...overrides,
  });
}

/** Starts a gateway instance (services + HTTP/WebSocket server) on an ephemeral port. */
export async function startGateway(
  db: Database,
  options: { env?: Record<string, string>; now?: () => Date; log?: Logger; random?: () => number } = {},
): Promise<TestGateway> {
  const services = createServices(testConfig(options.env), db, {
    ...(options.now ? { now: options.now } : {}),
    ...(options.log ? { log: options.log } : {}),
    ...(options.random ? { random: options.random } : {}),
  });
  const server = await startServer(services, { port: 0, host: '127.0.0.1' });
  return {
    services,
    server,
    url: server.url,
    async gql(key, query, variables) {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (key) headers.authorization = `Bearer ${key}`;
      const res = await fetch(`${server.url}/graphql`, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
      return { status: res.status, body: await res.json(), headers: res.headers };
    },
    async close() {
      await server.close();
      await services.close();
    },
  };
}

let orgCounter = 0;
/** A unique organisation name per call (test files share nothing). */
export function uniqueOrg(prefix = 'org'): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${++orgCounter}`;
}

/** Issues a key; every scope unless told otherwise. */
export async function issueKey(
  db: Database,
  org: string,
  scopes: readonly Scope[] = ALL_SCOPES,
  extra: { expiresAt?: Date; perMinute?: number; perDay?: number; label?: string } = {},
): Promise<{ key: string; id: string; orgId: string }> {
  const issued = await createApiKey(db.prisma, { org, scopes: [...scopes], ...extra });
  return { key: issued.key, id: issued.id, orgId: issued.orgId };
}

// Configuration comes only from environment variables, validated once at start so that a
// typo fails loudly with a message naming the variable instead of misbehaving later.
import type { LogLevel } from './ops/logger.js';

export interface Config {
  port: number;
  host: string;
  /** PostgreSQL connection string; when absent the embedded PGlite database is used. */
  databaseUrl: string | undefined;
  /** Directory of the embedded PGlite database. */
  dataDir: string;
  databasePoolSize: number;
  /** Bound on opening (or waiting for) a PostgreSQL connection: past it a request gets 503 instead of hanging. */
  databaseConnectTimeoutMs: number;
  /** Default rate limits for keys created without their own (SPEC section 2). */
  rateLimitPerMinute: number;
  rateLimitPerDay: number;
  /** How long a verified key stays cached; revocation must bite within one second. */
  apiKeyCacheMs: number;
  idempotencyTtlHours: number;
  /** Bounded wait for a concurrent request holding the same idempotency key. */
  idempotencyWaitMs: number;
  /**
   * Days customer events are kept; null (the default) keeps them for good: the status
   * history is an audit trail (SPEC section 11).
   */
  eventRetentionDays: number | null;
  /** Per-subscriber buffer of undelivered events before the subscriber is cut off. */
  subscriptionBufferSize: number;
  logLevel: LogLevel;
  /** Webhooks to `http:` URLs are allowed (local testing only). */
  webhookAllowInsecure: boolean;
  /** Webhooks to loopback, private, link-local and metadata addresses are allowed (local testing only). */
  webhookAllowPrivateNetworks: boolean;
  /** When set, endpoint secrets are encrypted at rest with a key derived from it. */
  webhookSecretKey: string | undefined;
  /** A webhook attempt answered 2xx within this is a success (at most 10 s, SPEC section 10). */
  webhookTimeoutMs: number;
  /** Endpoints this instance sends to at once; 0 turns the webhook sender off on this instance. */
  webhookConcurrency: number;
  /** Attempts of one endpoint in flight at once, pipelined in order on its connection; 1: one at a time. */
  webhookPipelining: number;
  /**
   * The sender runs in a thread of its own with its own connections (PostgreSQL only; the
   * embedded database lives in the main thread, so there it always runs inline).
   */
  webhookSenderThread: boolean;
  /** GraphQL cost limits, checked before execution (SPEC section 9; defaults argued in the README). */
  graphqlLimits: GraphQLLimits;
  /** HTTP and WebSocket connection limits (SPEC section 9). */
  http: HttpLimits;
  /** On SIGTERM: how long the drain may take before busy connections are cut and the process exits. */
  shutdownTimeoutMs: number;
  /** When set, GET /metrics is served on this port only (not on the main port). */
  metricsPort: number | null;
  /** Gateway processes on this machine (node:cluster; PostgreSQL only: PGlite runs one). */
  webConcurrency: number;
  /** OTLP/HTTP endpoint of the trace collector; unset, tracing is off and OpenTelemetry is not loaded. */
  otelEndpoint: string | undefined;
  /** `service.name` of exported spans (OTEL_SERVICE_NAME). */
  otelServiceName: string;
}

export interface GraphQLLimits {
  maxDepth: number;
  maxAliases: number;
  maxTokens: number;
  maxDirectives: number;
  maxVariables: number;
  /** Bytes of the document text. */
  maxDocumentBytes: number;
  /** Computed cost; a list field's sub-selection counts `first` times. */
  maxCost: number;
  /** Bytes of an HTTP request body to /graphql (document + variables). */
  maxBodyBytes: number;
}

export interface HttpLimits {
  /** Time to receive a request's headers, counted from its first byte (or from the connection for a new socket). */
  headersTimeoutMs: number;
  /** Time to receive a whole request, body included. */
  requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this long. */
  keepAliveTimeoutMs: number;
  /** Connections that have not sent a request yet; past this count the oldest is closed. */
  maxSilentSockets: number;
  /** Largest WebSocket message (ws maxPayload); a bigger one closes the socket with 1009. */
  wsMaxMessageBytes: number;
  /** Operations (subscriptions) in progress on one graphql-ws connection. */
  wsMaxSubscriptions: number;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

function intVar(env: Env, name: string, fallback: number, min: number, max: number, problems: string[]): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    problems.push(`${name} must be an integer between ${min} and ${max} (got "${raw}")`);
    return fallback;
  }
  return value;
}

/** An integer variable with no default: null when unset or empty. */
function optionalIntVar(env: Env, name: string, min: number, max: number, problems: string[]): number | null {
  const raw = env[name];
  if (raw === undefined || raw === '') return null;
  return intVar(env, name, min, min, max, problems);
}

function boolVar(env: Env, name: string, problems: string[], fallback = false): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (raw === 'true' || raw === 'false') return raw === 'true';
  problems.push(`${name} must be true or false (got "${raw}")`);
  return fallback;
}

/** Shortest WEBHOOK_SECRET_KEY accepted: it is the only protection of the secrets at rest. */
const SECRET_KEY_MIN_LENGTH = 32;
/** Processes per machine: each holds DATABASE_POOL_SIZE connections, so a bound keeps a typo from exhausting PostgreSQL. */
const MAX_WEB_CONCURRENCY = 64;

const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;

/**
 * Bound on opening one PostgreSQL connection (pool and LISTEN connection) and on waiting for a
 * free pooled one (pg-pool has one option for both). Without it a server that does not answer
 * (host down, packets dropped) holds a request for the OS's TCP timeout.
 */
export const DEFAULT_DATABASE_CONNECT_TIMEOUT_MS = 5000;

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

/** Reads and validates the configuration; throws ConfigError listing every problem at once. */
export function loadConfig(env: Env = process.env): Config {
  const problems: string[] = [];
  const databaseUrl = env.DATABASE_URL === '' ? undefined : env.DATABASE_URL;
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    problems.push('DATABASE_URL must start with postgresql:// (or be unset for the embedded database)');
  }
  const logLevel = (env.LOG_LEVEL ?? 'info') as Config['logLevel'];
  if (!LOG_LEVELS.includes(logLevel)) problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}`);
  const config: Config = {
    port: intVar(env, 'PORT', 4000, 0, 65535, problems),
    host: env.HOST ?? '0.0.0.0',
    databaseUrl,
    dataDir: env.DATA_DIR ?? './.data',
    databasePoolSize: intVar(env, 'DATABASE_POOL_SIZE', 10, 1, 1000, problems),
    databaseConnectTimeoutMs: intVar(env, 'DATABASE_CONNECT_TIMEOUT_MS', DEFAULT_DATABASE_CONNECT_TIMEOUT_MS, 100, 60_000, problems),
    rateLimitPerMinute: intVar(env, 'RATE_LIMIT_PER_MINUTE', 60, 1, 10_000_000, problems),
    rateLimitPerDay: intVar(env, 'RATE_LIMIT_PER_DAY', 10_000, 1, 1_000_000_000, problems),
    apiKeyCacheMs: intVar(env, 'API_KEY_CACHE_MS', 500, 0, 1000, problems),
    idempotencyTtlHours: intVar(env, 'IDEMPOTENCY_TTL_HOURS', 24, 1, 24 * 30, problems),
    idempotencyWaitMs: intVar(env, 'IDEMPOTENCY_WAIT_MS', 5000, 0, 60_000, problems),
    eventRetentionDays: optionalIntVar(env, 'EVENT_RETENTION_DAYS', 7, 36_500, problems),
    subscriptionBufferSize: intVar(env, 'SUBSCRIPTION_BUFFER_SIZE', 1000, 1, 1_000_000, problems),
    logLevel,
    webhookAllowInsecure: boolVar(env, 'WEBHOOK_ALLOW_INSECURE', problems),
    webhookAllowPrivateNetworks: boolVar(env, 'WEBHOOK_ALLOW_PRIVATE_NETWORKS', problems),
    webhookSecretKey: env.WEBHOOK_SECRET_KEY === '' ? undefined : env.WEBHOOK_SECRET_KEY,
    webhookTimeoutMs: intVar(env, 'WEBHOOK_TIMEOUT_MS', 10_000, 1, 10_000, problems),
    webhookConcurrency: intVar(env, 'WEBHOOK_CONCURRENCY', 16, 0, 1000, problems),
    // At most a batch (20, sender.ts): a batch's attempts are what can be in flight together.
    webhookPipelining: intVar(env, 'WEBHOOK_PIPELINING', 10, 1, 20, problems),
    webhookSenderThread: boolVar(env, 'WEBHOOK_SENDER_THREAD', problems, true),
    graphqlLimits: {
      maxDepth: intVar(env, 'GRAPHQL_MAX_DEPTH', 10, 1, 1000, problems),
      maxAliases: intVar(env, 'GRAPHQL_MAX_ALIASES', 15, 0, 10_000, problems),
      maxTokens: intVar(env, 'GRAPHQL_MAX_TOKENS', 1000, 10, 1_000_000, problems),
      maxDirectives: intVar(env, 'GRAPHQL_MAX_DIRECTIVES', 20, 0, 10_000, problems),
      maxVariables: intVar(env, 'GRAPHQL_MAX_VARIABLES', 50, 0, 10_000, problems),
      maxDocumentBytes: intVar(env, 'GRAPHQL_MAX_DOCUMENT_BYTES', 16 * 1024, 256, 16 * 1024 * 1024, problems),
      maxCost: intVar(env, 'GRAPHQL_MAX_COST', 10_000, 1, 100_000_000, problems),
      maxBodyBytes: intVar(env, 'GRAPHQL_MAX_BODY_BYTES', 64 * 1024, 1024, 64 * 1024 * 1024, problems),
    },
    http: {
      headersTimeoutMs: intVar(env, 'HTTP_HEADERS_TIMEOUT_MS', 10_000, 100, 600_000, problems),
      requestTimeoutMs: intVar(env, 'HTTP_REQUEST_TIMEOUT_MS', 30_000, 100, 3_600_000, problems),
      keepAliveTimeoutMs: intVar(env, 'HTTP_KEEP_ALIVE_TIMEOUT_MS', 5_000, 100, 600_000, problems),
      maxSilentSockets: intVar(env, 'HTTP_MAX_SILENT_SOCKETS', 256, 1, 1_000_000, problems),
      wsMaxMessageBytes: intVar(env, 'WS_MAX_MESSAGE_BYTES', 64 * 1024, 1024, 64 * 1024 * 1024, problems),
      wsMaxSubscriptions: intVar(env, 'WS_MAX_SUBSCRIPTIONS', 100, 1, 100_000, problems),
    },
    shutdownTimeoutMs: intVar(env, 'SHUTDOWN_TIMEOUT_MS', 25_000, 1_000, 600_000, problems),
    metricsPort: optionalIntVar(env, 'METRICS_PORT', 0, 65535, problems),
    webConcurrency: intVar(env, 'WEB_CONCURRENCY', 1, 1, MAX_WEB_CONCURRENCY, problems),
    otelEndpoint: env.OTEL_EXPORTER_OTLP_ENDPOINT === '' ? undefined : env.OTEL_EXPORTER_OTLP_ENDPOINT,
    otelServiceName: env.OTEL_SERVICE_NAME || 'customer-gateway',
  };
  if (config.otelEndpoint !== undefined && !isHttpUrl(config.otelEndpoint)) {
    problems.push('OTEL_EXPORTER_OTLP_ENDPOINT must be an http:// or https:// URL (e.g. http://otel-collector:4318)');
  }
  if (config.webhookSecretKey !== undefined && config.webhookSecretKey.length < SECRET_KEY_MIN_LENGTH) {
    problems.push(`WEBHOOK_SECRET_KEY must be at least ${SECRET_KEY_MIN_LENGTH} characters (e.g. openssl rand -base64 32)`);
  }
  // Node measures the request timeout over the headers too, so it must be the larger one.
  if (config.http.requestTimeoutMs < config.http.headersTimeoutMs) {
    problems.push('HTTP_REQUEST_TIMEOUT_MS must not be smaller than HTTP_HEADERS_TIMEOUT_MS');
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

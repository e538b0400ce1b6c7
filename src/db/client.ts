// One factory for the three databases the gateway runs on: PostgreSQL through a pg pool
// (DATABASE_URL), the embedded PGlite persisted on disk, and an in-memory PGlite for tests.
import { PGlite } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import type { SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { DEFAULT_DATABASE_CONNECT_TIMEOUT_MS } from '../config.js';
import { PrismaClient } from '../generated/prisma/client.js';
import { PgListener, type ListenerObserver, type ListenerStatus } from './listener.js';
import { openPool } from './pg-pool.js';
import {
  pgliteStatements,
  pgliteTransactions,
  poolPreparedStatements,
  poolStatements,
  poolTransactions,
  type TransactionRunner,
  type Tx,
} from './transaction.js';

export type { PrismaClient };
export type { ListenerObserver, ListenerState, ListenerStatus } from './listener.js';
/** What a write transaction's statements run on: a Prisma interactive transaction or Database.transaction's. */
export type { Tx, TransactionRunner } from './transaction.js';

export type DatabaseTarget =
  | {
      kind: 'postgres';
      url: string;
      poolSize?: number;
      connectTimeoutMs?: number;
      /** How its connections name themselves in pg_stat_activity (default APPLICATION_NAME). */
      applicationName?: string;
    }
  | { kind: 'pglite'; dataDir: string }
  /** In-memory PGlite (tests); a test may hand in its own instance, e.g. to close it under the gateway. */
  | { kind: 'memory'; pglite?: PGlite };

/**
 * What the gateway's connections call themselves in pg_stat_activity (`application_name`), so
 * that an operator can tell them, and the webhook sender's (webhooks/sender-thread.ts), apart.
 */
export const APPLICATION_NAME = 'customer-gateway';

/** Receives every SQL statement the client sends (tests count round trips with it). */
export type QueryListener = (sql: string) => void;

export interface Database {
  readonly kind: DatabaseTarget['kind'];
  readonly prisma: PrismaClient;
  /**
   * The customer write transaction, on the connection beneath Prisma (db/transaction.ts says
   * why); its statements reach the query listeners like Prisma's.
   */
  readonly transaction: TransactionRunner;
  /**
   * Single raw statements outside a transaction, on the same connection(s) beneath Prisma (the
   * customer list's reads, customers/queries.ts); reported to the query listeners like Prisma's.
   */
  readonly statements: Tx;
  /**
   * As `statements`, for statements whose text never varies (the webhook sender's): prepared
   * once per connection, planned once (db/transaction.ts). PGlite: the same as `statements`.
   */
  readonly preparedStatements: Tx;
  /**
   * Where another thread opens its own connections to the same database (the webhook sender's
   * thread, webhooks/sender-thread.ts); null for the embedded database, which lives in this
   * thread only.
   */
  readonly postgres: { url: string; connectTimeoutMs: number } | null;
  /** The adapter factory, for the schema engine (migrations). */
  readonly adapterFactory: SqlMigrationAwareDriverAdapterFactory;
  /**
   * Calls `onNotify` for each NOTIFY on `channel`; resolves to an unsubscribe function once the
   * LISTEN is in place, rejects when the database cannot be reached now. On PostgreSQL the
   * connection carrying it is re-established after a loss; notifications sent meanwhile are
   * lost, so observe `onListenerStatus` and catch up on `connected`.
   */
  listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>>;
  /** The LISTEN connection: connected or not, since when (readiness reads it). */
  listenerStatus(): ListenerStatus;
  /** Adds an observer of listener status changes; returns its remover. */
  onListenerStatus(observer: ListenerObserver): () => void;
  /** Connections of the pool right now, for metrics (PGlite: one in-process connection, no pool). */
  poolStats(): PoolStats;
  /** Adds a listener of the SQL statements sent through Prisma; returns its remover. */
  onQuery(listener: QueryListener): () => void;
  close(): Promise<void>;
}

/** Pool use: `max` connections configured; `total` open, `idle` of them free, `waiting` queries queued for one (null: no pool). */
export interface PoolStats {
  max: number;
  total: number | null;
  idle: number | null;
  waiting: number | null;
}

/** Opens a database and its Prisma client. Nothing is migrated here (see migrate.ts). */
export async function openDatabase(target: DatabaseTarget): Promise<Database> {
  const listeners = new Set<QueryListener>();
  const makeClient = (adapter: SqlMigrationAwareDriverAdapterFactory): PrismaClient => {
    const client = new PrismaClient({ adapter, log: [{ emit: 'event', level: 'query' }] });
    client.$on('query', (e) => report(e.query));
    return client;
  };
  const report = (sql: string) => {
    for (const l of listeners) l(sql);
  };
  const onQuery = (listener: QueryListener) => {
    listeners.add(listener);
    return () => void listeners.delete(listener);
  };

  if (target.kind === 'postgres') {
    const connectTimeoutMs = target.connectTimeoutMs ?? DEFAULT_DATABASE_CONNECT_TIMEOUT_MS;
    const max = target.poolSize ?? 10;
    // No lost connection can crash the process, idle or checked out (db/pg-pool.ts).
    const applicationName = target.applicationName ?? APPLICATION_NAME;
    const pool = openPool({
      connectionString: target.url,
      max,
      connectionTimeoutMillis: connectTimeoutMs,
      keepAlive: true,
      application_name: applicationName,
    });
    const adapterFactory = new PrismaPg(pool);
    const prisma = makeClient(adapterFactory);
    const transaction = poolTransactions(pool, report);
    const statements = poolStatements(pool, report);
    const preparedStatements = poolPreparedStatements(pool, report);
    // One dedicated connection per process carries every LISTEN, and comes back after a loss.
    const listener = new PgListener({ connectionString: target.url, connectTimeoutMs, applicationName });
    return {
      kind: 'postgres',
      postgres: { url: target.url, connectTimeoutMs },
      prisma,
      transaction,
      statements,
      preparedStatements,
      adapterFactory,
      onQuery,
      listen: (channel, onNotify) => listener.listen(channel, onNotify),
      listenerStatus: () => listener.status(),
      onListenerStatus: (observer) => listener.observe(observer),
      poolStats: () => ({ max, total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
      async close() {
        await prisma.$disconnect();
        await listener.close();
        await pool.end();
      },
    };
  }

  const pglite = target.kind === 'pglite' ? new PGlite(target.dataDir) : (target.pglite ?? new PGlite());
  await pglite.waitReady;
  const adapterFactory: SqlMigrationAwareDriverAdapterFactory = new PrismaPGlite(pglite);
  const prisma = makeClient(adapterFactory);
  const transaction = pgliteTransactions(pglite, report);
  const statements = pgliteStatements(pglite, report);
  // In-process: there is no connection to lose, so no reconnection; the status has the same
  // shape as PostgreSQL's so that readiness reads both alike.
  const status = new PGliteListenerStatus(pglite);
  return {
    kind: target.kind,
    postgres: null,
    prisma,
    transaction,
    statements,
    preparedStatements: statements,
    adapterFactory,
    onQuery,
    async listen(channel, onNotify) {
      const unlisten = await pglite.listen(channel, onNotify);
      status.listening();
      return unlisten;
    },
    listenerStatus: () => status.get(),
    onListenerStatus: (observer) => status.observe(observer),
    poolStats: () => ({ max: 1, total: null, idle: null, waiting: null }),
    async close() {
      await prisma.$disconnect();
      await pglite.close();
      status.closed();
    },
  };
}

/** PGlite's listener: idle until the first LISTEN, then connected for as long as the instance is open. */
class PGliteListenerStatus {
  private since = new Date();
  private started = false;
  private readonly observers = new Set<ListenerObserver>();

  constructor(private readonly pglite: PGlite) {}

  listening(): void {
    if (this.started) return;
    this.started = true;
    this.changed();
  }

  closed(): void {
    this.changed();
  }

  get(): ListenerStatus {
    // Also closed by whoever handed the instance in: read it from the instance, not from close().
    if (this.pglite.closed) return { state: 'disconnected', since: this.since, lastError: 'PGlite is closed', reconnects: 0 };
    return { state: this.started ? 'connected' : 'idle', since: this.since, lastError: null, reconnects: 0 };
  }

  private changed(): void {
    this.since = new Date();
    for (const o of [...this.observers]) o(this.get());
  }

  observe(observer: ListenerObserver): () => void {
    this.observers.add(observer);
    return () => void this.observers.delete(observer);
  }
}

// One factory for the three databases the gateway runs on: PostgreSQL through a pg pool
// (DATABASE_URL), the embedded PGlite persisted on disk, and an in-memory PGlite for tests.
import { PGlite } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import type { SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import pg from 'pg';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { PrismaClient, type Prisma } from '../generated/prisma/client.js';

export type { PrismaClient };
/** The client handed to interactive-transaction callbacks. */
export type Tx = Prisma.TransactionClient;

export type DatabaseTarget =
  { kind: 'postgres'; url: string; poolSize?: number } | { kind: 'pglite'; dataDir: string } | { kind: 'memory' };

/** Receives every SQL statement the client sends (tests count round trips with it). */
export type QueryListener = (sql: string) => void;

export interface Database {
  readonly kind: DatabaseTarget['kind'];
  readonly prisma: PrismaClient;
  /** The adapter factory, for the schema engine (migrations). */
  readonly adapterFactory: SqlMigrationAwareDriverAdapterFactory;
  /** Calls `onNotify` for each NOTIFY on `channel`; resolves to an unsubscribe function. */
  listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>>;
  /** Adds a listener of the SQL statements sent through Prisma; returns its remover. */
  onQuery(listener: QueryListener): () => void;
  close(): Promise<void>;
}

/** Opens a database and its Prisma client. Nothing is migrated here (see migrate.ts). */
export async function openDatabase(target: DatabaseTarget): Promise<Database> {
  const listeners = new Set<QueryListener>();
  const makeClient = (adapter: SqlMigrationAwareDriverAdapterFactory): PrismaClient => {
    const client = new PrismaClient({ adapter, log: [{ emit: 'event', level: 'query' }] });
    client.$on('query', (e) => {
      for (const l of listeners) l(e.query);
    });
    return client;
  };
  const onQuery = (listener: QueryListener) => {
    listeners.add(listener);
    return () => void listeners.delete(listener);
  };

  if (target.kind === 'postgres') {
    const pool = new pg.Pool({ connectionString: target.url, max: target.poolSize ?? 10 });
    // An idle client losing its connection must not crash the process; the pool drops it.
    pool.on('error', () => {});
    const adapterFactory = new PrismaPg(pool);
    const prisma = makeClient(adapterFactory);
    let listener: pg.Client | undefined;
    const handlers = new Map<string, Set<(payload: string) => void>>();
    return {
      kind: 'postgres',
      prisma,
      adapterFactory,
      onQuery,
      async listen(channel, onNotify) {
        if (!listener) {
          // One dedicated connection per process carries every LISTEN.
          listener = new pg.Client({ connectionString: target.url });
          listener.on('error', () => {});
          listener.on('notification', (n) => {
            for (const h of handlers.get(n.channel) ?? []) h(n.payload ?? '');
          });
          await listener.connect();
        }
        let set = handlers.get(channel);
        if (!set) {
          set = new Set();
          handlers.set(channel, set);
          await listener.query(`LISTEN "${channel.replace(/"/g, '""')}"`);
        }
        set.add(onNotify);
        return async () => {
          set.delete(onNotify);
        };
      },
      async close() {
        await prisma.$disconnect();
        await listener?.end().catch(() => {});
        await pool.end();
      },
    };
  }

  const pglite = target.kind === 'pglite' ? new PGlite(target.dataDir) : new PGlite();
  await pglite.waitReady;
  const adapterFactory = new PrismaPGlite(pglite) as unknown as SqlMigrationAwareDriverAdapterFactory;
  const prisma = makeClient(adapterFactory);
  return {
    kind: target.kind,
    prisma,
    adapterFactory,
    onQuery,
    async listen(channel, onNotify) {
      return pglite.listen(channel, onNotify);
    },
    async close() {
      await prisma.$disconnect();
      await pglite.close();
    },
  };
}

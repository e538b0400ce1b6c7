// The one database-error classifier (src/db/errors.ts) on real errors: provoked through Prisma
// and its driver adapter (pg on PostgreSQL, PGlite), so that the wrappers Prisma puts around them
// (P2002, P2010 for raw queries, P2039 for model queries, meta.driverAdapterError) are the real
// ones. The faults that need a server to die are in db-faults.test.ts.
import { GraphQLError } from 'graphql';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../src/db/client.js';
import { classifyDatabaseError, DatabaseErrorKind, isDatabaseUnavailable, SqlState } from '../src/db/errors.js';
import { openPool } from '../src/db/pg-pool.js';
import { onPostgres } from './helpers/db.js';
import { useGateway } from './helpers/fixture.js';

const ctx = useGateway();

/** The error a promise rejects with (fails the test when it resolves). */
async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

/** Raises an error with the given SQLSTATE inside the database, through a raw query (Prisma P2010). */
const raise = (state: string) =>
  rejection(ctx.db.prisma.$executeRawUnsafe(`DO $$ BEGIN RAISE EXCEPTION 'provoked' USING ERRCODE = '${state}'; END $$`));

describe('classifyDatabaseError', () => {
  it('unique violations are races, from model queries (P2002) and raw ones (P2010 → 23505)', async () => {
    const name = `dup-${Date.now()}-${Math.random()}`;
    await ctx.db.prisma.organization.create({ data: { name } });
    const model = await rejection(ctx.db.prisma.organization.create({ data: { name } }));
    expect(model).toMatchObject({ code: 'P2002' });
    expect(classifyDatabaseError(model).kind).toBe(DatabaseErrorKind.RetryableRace);
    const raw = await rejection(ctx.db.prisma.$executeRaw`INSERT INTO organizations (id, name) VALUES (gen_random_uuid(), ${name})`);
    expect(raw).toMatchObject({ code: 'P2010' });
    expect(classifyDatabaseError(raw)).toEqual({ kind: DatabaseErrorKind.RetryableRace, code: SqlState.UniqueViolation });
  });

  it.each([
    [SqlState.SerializationFailure, DatabaseErrorKind.RetryableRace],
    [SqlState.DeadlockDetected, DatabaseErrorKind.RetryableRace],
    [SqlState.LockNotAvailable, DatabaseErrorKind.LockTimeout],
    [SqlState.AdminShutdown, DatabaseErrorKind.Unavailable],
    [SqlState.CannotConnectNow, DatabaseErrorKind.Unavailable],
    [SqlState.ConnectionFailure, DatabaseErrorKind.Unavailable],
    [SqlState.TooManyConnections, DatabaseErrorKind.Unavailable],
    // A protocol violation and a cancelled statement are not a lost database.
    ['08P01', DatabaseErrorKind.Other],
    ['57014', DatabaseErrorKind.Other],
    ['P0001', DatabaseErrorKind.Other],
  ])('SQLSTATE %s raised in the database → %s', async (state, kind) => {
    const error = await raise(state);
    expect(error).toMatchObject({ code: 'P2010' });
    expect(classifyDatabaseError(error).kind).toBe(kind);
  });

  it('a genuine SQL error is not unavailable (division by zero, through a model-free raw query)', async () => {
    const error = await rejection(ctx.db.prisma.$queryRaw`SELECT 1 / (SELECT count(*) FROM organizations WHERE false)::int AS x`);
    expect(classifyDatabaseError(error)).toEqual({ kind: DatabaseErrorKind.Other, code: null });
  });

  it('errors that are not database errors are "other"', () => {
    for (const e of [new Error('boom'), new GraphQLError('no'), null, undefined, 'text', 42, { code: 42 }]) {
      expect(classifyDatabaseError(e).kind).toBe(DatabaseErrorKind.Other);
    }
    // A cycle of causes terminates.
    const a: Error & { cause?: unknown } = new Error('a');
    a.cause = a;
    expect(classifyDatabaseError(a).kind).toBe(DatabaseErrorKind.Other);
  });

  it("pg's code-less connection errors are recognised by their exact text", () => {
    // What pg (lib/client.js) rejects an in-flight query with when the server goes away; the
    // real one is provoked by db-faults.test.ts (immediate stop under load).
    expect(isDatabaseUnavailable(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isDatabaseUnavailable(new Error('Connection terminated unexpectedly, but not really'))).toBe(false);
  });

  it('a server that refuses connections: pg (ECONNREFUSED) and Prisma (P1001) are unavailable', async () => {
    // A port nobody listens on: the one of a server we open and close at once.
    const { createServer } = await import('node:net');
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const address = s.address();
        s.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
      });
    });
    const url = `postgresql://postgres@127.0.0.1:${port}/postgres`;
    const client = new pg.Client({ connectionString: url });
    const pgError = await rejection(client.connect());
    expect(classifyDatabaseError(pgError)).toEqual({ kind: DatabaseErrorKind.Unavailable, code: 'ECONNREFUSED' });
    const db = await openDatabase({ kind: 'postgres', url, poolSize: 1 });
    try {
      const model = await rejection(db.prisma.organization.count());
      expect(model).toMatchObject({ code: 'P1001' });
      expect(isDatabaseUnavailable(model)).toBe(true);
      const tx = await rejection(db.prisma.$transaction(async (t) => t.organization.count()));
      expect(isDatabaseUnavailable(tx)).toBe(true);
      // The LISTEN connection cannot be made either: listen rejects at once, registers nothing.
      expect(isDatabaseUnavailable(await rejection(db.listen('nobody_listens', () => {})))).toBe(true);
      expect(db.listenerStatus().state).toBe('idle');
    } finally {
      await db.close();
    }
  });

  it.runIf(onPostgres)(
    'a checked-out pool client whose backend is killed between two queries does not crash the process: its next query is unavailable, and the pool recovers',
    async () => {
      const pool = openPool({ connectionString: ctx.t.url, max: 1 });
      try {
        const client = await pool.connect();
        const [row] = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows;
        const ended = new Promise((resolve) => client.once('end', resolve));
        // No query runs on it: pg emits 'error' (57P01), which nobody holding it listens for.
        await ctx.db.prisma.$queryRaw`SELECT pg_terminate_backend(${row!.pid}::int)`;
        await ended;
        expect(isDatabaseUnavailable(await rejection(client.query('SELECT 1')))).toBe(true);
        client.release();
        expect((await pool.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
      } finally {
        await pool.end();
      }
    },
  );

  it.runIf(onPostgres)('a lock wait bounded by lock_timeout, in a model query (P2039 → 55P03), is lock_timeout', async () => {
    const holder = new pg.Client({ connectionString: ctx.t.url });
    holder.on('error', () => {});
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('LOCK TABLE organizations IN ACCESS EXCLUSIVE MODE');
      const error = await rejection(
        ctx.db.prisma.$transaction(async (tx) => {
          await tx.$executeRaw`SET LOCAL lock_timeout = '50ms'`;
          await tx.organization.count();
        }),
      );
      expect(error).toMatchObject({ code: 'P2039' });
      expect(classifyDatabaseError(error)).toEqual({ kind: DatabaseErrorKind.LockTimeout, code: SqlState.LockNotAvailable });
    } finally {
      await holder.query('ROLLBACK').catch(() => {});
      await holder.end();
    }
  });
});

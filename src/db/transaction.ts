// The customer write transaction's own runner: BEGIN, the caller's raw statements and COMMIT (or
// ROLLBACK) sent straight through the connection beneath Prisma — the pg pool's client, or
// PGlite's transaction — instead of through Prisma's interactive transaction.
//
// Why: a customer write is a handful of raw statements built by their owners (customers/row.ts,
// events/outbox.ts, idempotency/store.ts), and under write load the gateway's thread is the
// bottleneck (issue 12). Each Prisma call costs its client runtime (request building, the query
// interpreter, the transaction manager, result mapping) on top of the driver's work, for
// statements Prisma does not plan anyway: the profile of the upsert path showed Prisma's runtime
// at about a quarter of the gateway's busy time. The customer list's statements (page, count,
// stats) run the same way, outside a transaction (`poolStatements` / `pgliteStatements`).
// So do the webhook sender's statements (prepared: `poolPreparedStatements`). Everything else
// (lookups, the lifecycle moves, webhook management) stays on Prisma.
//
// It stays ONE owner of write transactions: this file opens, commits and rolls back; what a
// failure means is still decided by db/errors.ts (whose classifier reads pg's and PGlite's errors
// as well as Prisma's), and the retry on races stays in customers/upsert.ts. The statements are
// still `Prisma.Sql` values, built and parameterised the same way, and they are reported to the
// same query listeners (tests count round trips with them) — COMMIT included, BEGIN not, as
// Prisma reported them.
import { createHash } from 'node:crypto';
import type { PGlite, Transaction as PGliteTransaction } from '@electric-sql/pglite';
import type pg from 'pg';
import { Prisma } from '../generated/prisma/client.js';

/**
 * What a write transaction offers its statements' owners: Prisma's raw-statement methods. Both a
 * Prisma interactive transaction (the lifecycle moves) and this file's runner have this shape.
 */
export interface Tx {
  $queryRaw<T = unknown>(query: TemplateStringsArray | Prisma.Sql, ...values: unknown[]): Promise<T>;
  $executeRaw(query: TemplateStringsArray | Prisma.Sql, ...values: unknown[]): Promise<number>;
}

/** Runs `fn` in one transaction; commits when it resolves, rolls back when it throws. */
export type TransactionRunner = <T>(fn: (tx: Tx) => Promise<T>, options: { timeoutMs: number }) => Promise<T>;

/** Receives the text of each statement sent (db/client.ts's query listeners). */
type Report = (sql: string) => void;

/** The statement a template or a ready Sql value stands for. */
function toSql(query: TemplateStringsArray | Prisma.Sql, values: unknown[]): Prisma.Sql {
  return query instanceof Prisma.Sql ? query : Prisma.sql(query, ...values);
}

/** A Tx over something that runs one parameterised statement and answers rows and a row count. */
function txOver(run: (text: string, values: unknown[]) => Promise<{ rows: unknown[]; count: number }>, report: Report): Tx {
  const send = (query: TemplateStringsArray | Prisma.Sql, values: unknown[]) => {
    const sql = toSql(query, values);
    report(sql.text);
    return run(sql.text, sql.values);
  };
  return {
    // The caller names the row type, as with Prisma's $queryRaw: the statement's select list is its contract.
    $queryRaw: async <T>(query: TemplateStringsArray | Prisma.Sql, ...values: unknown[]) => (await send(query, values)).rows as T,
    $executeRaw: async (query: TemplateStringsArray | Prisma.Sql, ...values: unknown[]) => (await send(query, values)).count,
  };
}

/**
 * Single statements outside a transaction on a pg pool (the read statements that Prisma does not
 * plan: customers/queries.ts's page, count and stats), on the same pool and reported the same way.
 */
export function poolStatements(pool: pg.Pool, report: Report): Tx {
  return txOver(async (text, values) => {
    const r = await pool.query(text, values);
    return { rows: r.rows, count: r.rowCount ?? 0 };
  }, report);
}

/**
 * Like poolStatements, but each statement is a named prepared statement (named by a hash of its
 * text): parsed and planned once per connection rather than on every run. Only for statements
 * whose text never varies (no list spliced into the SQL): each distinct text stays prepared on
 * every connection that ran it. The webhook sender's statements are such, and run several times
 * a second under write load; their planning was a visible part of its cost (bench/README.md).
 */
export function poolPreparedStatements(pool: pg.Pool, report: Report): Tx {
  const names = new Map<string, string>();
  const nameOf = (text: string) => {
    let name = names.get(text);
    if (!name) {
      name = `cg_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`;
      names.set(text, name);
    }
    return name;
  };
  return txOver(async (text, values) => {
    const r = await pool.query({ name: nameOf(text), text, values });
    return { rows: r.rows, count: r.rowCount ?? 0 };
  }, report);
}

/** Single statements outside a transaction on PGlite (they wait for a transaction in progress, as Prisma's do). */
export function pgliteStatements(pglite: PGlite, report: Report): Tx {
  return txOver(async (text, values) => {
    const r = await pglite.query(text, values);
    return { rows: r.rows, count: r.affectedRows ?? 0 };
  }, report);
}

/**
 * Transactions on a pg pool (the same pool Prisma's adapter uses, so DATABASE_POOL_SIZE still
 * bounds every connection; waiting for one is bounded by the pool's connection timeout, as for
 * Prisma). Past `timeoutMs` the connection is destroyed: the server rolls the transaction back,
 * and the statement in flight fails as a lost connection.
 */
export function poolTransactions(pool: pg.Pool, report: Report): TransactionRunner {
  return async (fn, { timeoutMs }) => {
    // A connection that dies while this holds it fails the statement in flight, or the next one,
    // and db/errors.ts classifies that; its 'error' event is heard by the pool's client itself
    // (db/pg-pool.ts), so it cannot crash the process.
    const client = await pool.connect();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      client.release(new Error('transaction timed out'));
    }, timeoutMs);
    const tx = txOver(async (text, values) => {
      const r = await client.query(text, values);
      return { rows: r.rows, count: r.rowCount ?? 0 };
    }, report);
    let rollbackFailed = false;
    try {
      await client.query('BEGIN');
      const result = await fn(tx);
      report('COMMIT');
      await client.query('COMMIT');
      return result;
    } catch (error) {
      if (!timedOut) await client.query('ROLLBACK').catch(() => (rollbackFailed = true));
      throw error;
    } finally {
      clearTimeout(timer);
      // A connection whose ROLLBACK failed is in an unknown state: destroyed, never pooled again
      // (pg-pool also destroys a client whose connection was lost).
      if (!timedOut) client.release(rollbackFailed);
    }
  };
}

/**
 * Transactions on PGlite (one in-process connection; its transaction() holds it exclusively, so
 * other requests' statements wait, as with Prisma's PGlite adapter). No timeout: nothing outside
 * the process can hold a lock on it.
 */
export function pgliteTransactions(pglite: PGlite, report: Report): TransactionRunner {
  return async (fn) => {
    const result = await pglite.transaction(async (t: PGliteTransaction) =>
      fn(
        txOver(async (text, values) => {
          const r = await t.query(text, values);
          return { rows: r.rows, count: r.affectedRows ?? 0 };
        }, report),
      ),
    );
    report('COMMIT');
    return result;
  };
}

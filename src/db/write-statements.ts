// Writes of one transaction sent in one round trip. A customer write is several statements with
// several owners (the customer row: customers/row.ts; its event and the NOTIFY: events/outbox.ts;
// the stored idempotent response: idempotency/store.ts), and round trips are what a write costs.
// So each owner builds a complete INSERT, UPDATE or DELETE, and they travel as the CTEs of one
// statement:
// - PostgreSQL runs every data-modifying CTE exactly once and to completion, whether or not the
//   rest of the statement reads it;
// - constraints between them (an event's foreign key to the customer inserted beside it) are
//   checked when the whole statement ends;
// - they all see the snapshot taken when the statement starts, not each other's rows, so none
//   may depend on another's effect: each is built from values its owner already knows.
import { Prisma } from '../generated/prisma/client.js';
import type { Tx } from './client.js';

const DATA_MODIFYING = /^\s*(INSERT|UPDATE|DELETE)\s/i;

/** One complete INSERT, UPDATE or DELETE, sent alone or with others by `sendTogether`. */
export class WriteStatement {
  private constructor(readonly sql: Prisma.Sql) {}

  /**
   * Wraps a complete INSERT, UPDATE or DELETE. It may not start with a WITH of its own:
   * PostgreSQL takes data-modifying CTEs at the top level only.
   */
  static of(sql: Prisma.Sql): WriteStatement {
    if (!DATA_MODIFYING.test(sql.strings[0] ?? '')) throw new Error('a WriteStatement is one INSERT, UPDATE or DELETE');
    return new WriteStatement(sql);
  }
}

/**
 * Sends the writes of the caller's transaction in one round trip, as CTEs of one statement whose
 * own query is `select` (a NOTIFY, say; evaluated once).
 */
export async function sendTogether(tx: Tx, writes: readonly WriteStatement[], select: Prisma.Sql = Prisma.sql`SELECT 1`): Promise<void> {
  if (writes.length === 0) {
    await tx.$executeRaw(select);
    return;
  }
  const ctes = Prisma.join(
    writes.map((w, i) => Prisma.sql`${Prisma.raw(`w${i}`)} AS (${w.sql})`),
    ', ',
  );
  await tx.$executeRaw`WITH ${ctes} ${select}`;
}

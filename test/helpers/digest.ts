// Digests of the tables a client's request may change: equal digests before and after a
// request prove that it changed nothing (SPEC section 9: a rejected request changes nothing).
import type { Database } from '../../src/db/client.js';

export interface TablesDigest {
  customers: string;
  events: string;
  idempotencyKeys: string;
}

/** md5 of every row of customers, customer_events and idempotency_keys, each in a stable order. */
export async function tablesDigest(db: Database): Promise<TablesDigest> {
  const rows = await db.prisma.$queryRaw<TablesDigest[]>`
    SELECT
      (SELECT md5(coalesce(string_agg(c::text, '|' ORDER BY c.id), '')) FROM customers c) AS customers,
      (SELECT md5(coalesce(string_agg(e::text, '|' ORDER BY e.id), '')) FROM customer_events e) AS events,
      (SELECT md5(coalesce(string_agg(k::text, '|' ORDER BY k.org_id, k.operation, k.key), '')) FROM idempotency_keys k)
        AS "idempotencyKeys"`;
  return rows[0]!;
}

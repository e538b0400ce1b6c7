// How the readers of the event log (the bus's fetch and replay, the webhook fan-out) find the
// events a snapshot had not yet seen committed: the one place that turns "not visible in S" into
// reads of the (txid, id) index.
//
// A snapshot "xmin:xmax:xip" has seen every transaction below xmin and none from xmax on; of those
// in between, it has seen all but the ones listed in xip. So the events it has not seen are those
// with txid ≥ xmax or txid in xip: two index reads as short as the work.
//
// Not `txid ≥ xmin AND NOT pg_visible_in_snapshot(…)`, which reads the same rows only while
// xmin is recent. A snapshot's xmin is the oldest transaction running in the whole cluster
// when it was taken, in any database: a pg_dump, a long report, a psql session left open in a
// transaction. While one runs, every read from xmin walks every event written since it began
// and drops all but the new ones, at every commit's wake-up (measured: 20,003 rows read for 3
// new events behind a 20,000-event log).
import { Prisma } from '../generated/prisma/client.js';
import type { PgSnapshot } from './snapshot.js';

/**
 * The customer_events rows of transactions `seen` had not seen committed and below the txid
 * bound `below` (the reader's own snapshot's xmax: nothing from there on is visible to it), as
 * a relation for a FROM clause. Some may not have committed yet: the caller keeps only those
 * visible in its own snapshot.
 *
 * Both reads are ranges of two bounds, and the bounds are bound values: a plan made with them
 * estimates each read from them and the index (past the end of its statistics the planner looks
 * the index's end up); a plan made without them (a prepared statement's generic plan, or a bound
 * computed in the statement) estimates a range of two unknown bounds at 0.5 % of the table,
 * where it would take a third for one bound alone, or for `txid = ANY(…)` of unknown values as
 * many rows as a transaction wrote on average (one bulk write makes that the whole table).
 */
export function eventsUnseenBy(seen: PgSnapshot, below: Prisma.Sql): Prisma.Sql {
  const later = Prisma.sql`SELECT * FROM customer_events WHERE txid >= ${seen.xmax.toString()}::bigint AND txid < ${below}`;
  // Transactions that were running when `seen` was taken: usually none or a few.
  if (seen.xip.size === 0) return Prisma.sql`(${later})`;
  // Their events through the (txid, id) index, one descent per transaction. The range only
  // helps a plan made without the values to estimate; the list must be what the index reads, and
  // OFFSET 0 keeps the caller's other conditions out of this read (PostgreSQL pushes none into a
  // subquery with OFFSET). Otherwise, when the statistics say an organisation has next to no
  // events, the planner reads its events through an index on org_id by the range alone and drops
  // the rest: while a long transaction is in the list, that is every event since it began.
  return Prisma.sql`(${later}
    UNION ALL
    (SELECT * FROM customer_events
     WHERE txid = ANY(${[...seen.xip].map(String)}::bigint[])
       AND txid >= ${seen.xmin.toString()}::bigint AND txid < ${seen.xmax.toString()}::bigint
     OFFSET 0))`;
}

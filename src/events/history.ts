// Read side of the event log: a customer's history, newest first, for many customers in one
// statement (a page of customers with their last N events must not cost a query each).
import type { PrismaClient } from '../db/client.js';
import { Prisma } from '../generated/prisma/client.js';
import { actorFromColumns, type Actor } from './actor.js';
import type { AmlStatus, CustomerEventKind, KycStatus } from '../generated/prisma/enums.js';
import { decodeCursor, encodeCursor, parseBigintText } from '../lib/cursor.js';

export const HISTORY_DEFAULT = 10;
export const HISTORY_MAX = 100;

export interface HistoryEvent {
  id: bigint;
  customerId: string;
  kind: CustomerEventKind;
  kycFrom: KycStatus | null;
  kycTo: KycStatus | null;
  amlFrom: AmlStatus | null;
  amlTo: AmlStatus | null;
  occurredAt: Date;
  /** Who made the change (SPEC section 11). */
  actor: Actor;
}

/** The columns of an event row as the raw queries select them (enums cast to text; inlined as JSON, id and time are text). */
export interface EventColumns {
  id: bigint | string | null;
  customer_id: string;
  kind: CustomerEventKind;
  kyc_from: KycStatus | null;
  kyc_to: KycStatus | null;
  aml_from: AmlStatus | null;
  aml_to: AmlStatus | null;
  occurred_at: Date | string;
  actor_kind: string;
  actor_key_id: string | null;
  actor_key_label: string | null;
}

/** The actor columns as every reader of the log selects them (`e` is the events table's alias). */
export const ACTOR_SELECT = Prisma.raw('e.actor_kind::text AS actor_kind, e.actor_key_id::text AS actor_key_id, e.actor_key_label');

/** Maps an event row to the fields every reader of the log shares. */
export function toHistoryEvent(r: EventColumns): HistoryEvent {
  return {
    id: BigInt(r.id!),
    customerId: r.customer_id,
    kind: r.kind,
    kycFrom: r.kyc_from,
    kycTo: r.kyc_to,
    amlFrom: r.aml_from,
    amlTo: r.aml_to,
    occurredAt: new Date(r.occurred_at),
    actor: actorFromColumns(r.actor_kind, r.actor_key_id, r.actor_key_label),
  };
}

export interface HistoryPage {
  events: HistoryEvent[];
  hasMore: boolean;
}

/** The cursor of a history entry (opaque; ordered by event id, newest first). */
export function historyCursor(e: Pick<HistoryEvent, 'id'>): string {
  return encodeCursor({ h: e.id.toString() });
}

/** The event id a history cursor points at (within bigint); throws InvalidCursorError when malformed. */
export function decodeHistoryCursor(cursor: string): bigint {
  return decodeCursor(cursor, (doc) => parseBigintText(doc.h));
}

/** Builds the page of `first` events from up to `first + 1` rows, newest first (the extra row tells `hasMore`). */
export function historyPageOf(rows: readonly EventColumns[], first: number): HistoryPage {
  return { events: rows.slice(0, first).map(toHistoryEvent), hasMore: rows.length > first };
}

/**
 * A scalar subquery for a statement over customers (aliased `c`): the newest `first + 1` events
 * of each customer as a JSON array of EventColumns (id as text, so no bigint is rounded), newest
 * first; `historyPageOf` makes its page. It lets a page of customers carry each one's first
 * history page in the same statement (customers/queries.ts), as loadHistories would load it.
 */
export function inlineHistorySql(first: number): Prisma.Sql {
  return Prisma.sql`(
    SELECT coalesce(json_agg(h ORDER BY h.seq DESC), '[]'::json) FROM (
      SELECT e.id AS seq, e.id::text AS id, e.customer_id::text AS customer_id, e.kind::text AS kind,
             e.kyc_from::text AS kyc_from, e.kyc_to::text AS kyc_to, e.aml_from::text AS aml_from, e.aml_to::text AS aml_to,
             e.occurred_at, ${ACTOR_SELECT}
      FROM customer_events e
      WHERE e.org_id = c.org_id AND e.customer_id = c.id
      ORDER BY e.id DESC
      LIMIT ${first + 1}
    ) h)`;
}

/**
 * The newest `first` events (older than `beforeId` if given) of each customer, in ONE
 * statement: unnest the ids and take each customer's slice with a LATERAL top-N that walks
 * the (org_id, customer_id, id DESC) index. One extra row per customer tells `hasMore`.
 */
export async function loadHistories(
  prisma: PrismaClient,
  orgId: string,
  customerIds: readonly string[],
  first: number,
  beforeId: bigint | null,
): Promise<Map<string, HistoryPage>> {
  const rows = await prisma.$queryRaw<EventColumns[]>`
    SELECT c.id::text AS customer_id, e.id, e.kind::text AS kind, e.kyc_from::text AS kyc_from, e.kyc_to::text AS kyc_to,
           e.aml_from::text AS aml_from, e.aml_to::text AS aml_to, e.occurred_at, ${ACTOR_SELECT}
    FROM unnest(${[...customerIds]}::text[]::uuid[]) AS c(id)
    CROSS JOIN LATERAL (
      SELECT * FROM customer_events ce
      WHERE ce.org_id = ${orgId}::uuid AND ce.customer_id = c.id AND (${beforeId}::bigint IS NULL OR ce.id < ${beforeId}::bigint)
      ORDER BY ce.id DESC
      LIMIT ${first + 1}
    ) e
    ORDER BY c.id, e.id DESC`;
  const pages = new Map<string, HistoryPage>(customerIds.map((id) => [id, { events: [], hasMore: false }]));
  for (const r of rows) {
    const page = pages.get(r.customer_id)!;
    if (page.events.length === first) {
      page.hasMore = true;
      continue;
    }
    page.events.push(toHistoryEvent(r));
  }
  return pages;
}

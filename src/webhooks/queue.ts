// The delivery queue in SQL: the fan-out (customer events → deliveries, exactly once across
// instances), the claim of an endpoint's next delivery (one sender per endpoint at a time),
// the recording of an attempt, and the re-queueing of the replay tool. Each is one statement.
// They take any runner of raw statements (`Tx`): the sender sends its own through
// `Database.statements`, beneath Prisma (as the customer list does, db/transaction.ts says
// why), since they run with every batch; the management API's go through Prisma.
import type { Tx } from '../db/client.js';
import { eventsUnseenBy } from '../events/log-reads.js';
import { parseSnapshot, type PgSnapshot } from '../events/snapshot.js';
import { Prisma } from '../generated/prisma/client.js';
import type { AmlStatus, CustomerEventKind, KycStatus, WebhookDeliveryStatus } from '../generated/prisma/enums.js';
import type { PublicCustomer } from '../projection/customer.js';
import { RETRY_WINDOW_MS } from './backoff.js';
import { webhookTypeTable, type SourceEvent, type WebhookEventType } from './event-types.js';

/**
 * NOTIFY channel that wakes every instance's sender when deliveries were queued. The fan-out's
 * payload lists the endpoints that got them, comma-separated (empty: any endpoint may have);
 * the replay tool's is empty.
 */
export const DELIVERIES_CHANNEL = 'webhook_deliveries';
/** Longest list of endpoint ids a fan-out's NOTIFY carries (PostgreSQL's limit is 8000 bytes). */
const NOTIFY_IDS_MAX_CHARS = 7000;

/** The endpoints a NOTIFY on DELIVERIES_CHANNEL names; null when it names none (any endpoint). */
export function notifiedEndpoints(payload: string): string[] | null {
  return payload === '' ? null : payload.split(',');
}

/** `webhookTypesOf` as a table the statements join: (kind, status reached) → type, in sending order. */
const TYPE_TABLE = Prisma.sql`(VALUES ${Prisma.join(
  webhookTypeTable().map((r) => Prisma.sql`(${r.kind}::text, ${r.to}::text, ${r.type}::text, ${r.ord}::int)`),
)}) AS m(kind, status_to, type, ord)`;

export interface FanOutResult {
  /** False when another instance held the cursor or moved it since it was read (it covers these events, or its next round will). */
  locked: boolean;
  events: number;
  queued: number;
}

/** The fan-out's cursor: the snapshot up to which events are deliveries. */
export async function readCursor(db: Tx): Promise<PgSnapshot> {
  const rows = await db.$queryRaw<{ snapshot: string }[]>`SELECT snapshot FROM webhook_cursor WHERE id = 1`;
  return parseSnapshot(rows[0]!.snapshot);
}

/**
 * Turns the customer events committed since the shared cursor into deliveries, in ONE
 * statement, which is its own transaction: lock the cursor row (SKIP LOCKED: if another
 * instance holds it, do nothing), read the events visible in the statement's snapshot and not
 * in the cursor's (PgQ's technique, as in events/bus.ts: safe against out-of-order commits),
 * insert one delivery per (event, type, endpoint of the organisation subscribed to the type),
 * advance the cursor to the statement's snapshot, and NOTIFY the senders. A crash at any
 * point rolls all of it back; two instances can never both turn one event into deliveries.
 *
 * The cursor is read first (no lock), so that the statement carries its snapshot as values the
 * planner sees (fanOutStatement says why), and locks the row only while it still holds that
 * snapshot: if another instance moved it meanwhile (FOR UPDATE rechecks the condition on the
 * newest version of the row), that instance fanned these events out, and this one does nothing,
 * as when the row is locked. The cursor also only moves when there were events, so a statement
 * that found nothing never writes.
 */
export async function fanOut(db: Tx, now: Date): Promise<FanOutResult> {
  const rows = await db.$queryRaw<{ locked: number; events: number; queued: number }[]>(fanOutStatement(now, await readCursor(db)));
  const r = rows[0];
  return { locked: (r?.locked ?? 0) > 0, events: r?.events ?? 0, queued: r?.queued ?? 0 };
}

/**
 * The fan-out's statement from `cursor` (exported for the test of its plan). The events are
 * those the cursor's snapshot had not seen, read through the (txid, id) index as
 * events/log-reads.ts says, with the cursor's bounds as values: never from its xmin, which a
 * long transaction anywhere in the cluster holds back (measured: 20,003 rows read for 3 new
 * events while one was open), and never planned as a third of the table, as when the cursor's
 * bound was a join condition (measured: 21.8 ms a call with 35,000 events in the log). Both
 * matter because the log is kept forever by default (SPEC 11) and the fan-out runs at every
 * commit's wake-up (every 100 ms under writes, every second idle), with or without endpoints.
 */
export function fanOutStatement(now: Date, cursor: PgSnapshot): Prisma.Sql {
  const deadline = new Date(now.getTime() + RETRY_WINDOW_MS);
  return Prisma.sql`
    WITH cur AS (
      SELECT snapshot::pg_snapshot AS snap FROM webhook_cursor WHERE id = 1 AND snapshot = ${cursor.text} FOR UPDATE SKIP LOCKED),
    s AS (SELECT pg_current_snapshot() AS snap),
    ev AS (
      SELECT e.id, e.org_id, e.kind::text AS kind, coalesce(e.kyc_to::text, e.aml_to::text) AS status_to, e.occurred_at
      FROM cur CROSS JOIN s JOIN ${eventsUnseenBy(cursor, Prisma.sql`(SELECT pg_snapshot_xmax(snap)::text::bigint FROM s)`)} e
        ON pg_visible_in_snapshot(e.txid::text::xid8, s.snap)
    ),
    ins AS (
      INSERT INTO webhook_deliveries (org_id, endpoint_id, customer_event_id, event_type, next_attempt_at, deadline_at, created_at)
      SELECT ev.org_id, ep.id, ev.id, m.type, ${now}::timestamptz, ${deadline}::timestamptz, ${now}::timestamptz
      FROM ev
      JOIN ${TYPE_TABLE} ON m.kind = ev.kind AND m.status_to IS NOT DISTINCT FROM ev.status_to
      JOIN webhook_endpoints ep
        ON ep.org_id = ev.org_id AND ep.enabled AND m.type = ANY(ep.events) AND ep.created_at <= ev.occurred_at
      ORDER BY ev.id, m.ord, ep.id
      ON CONFLICT (endpoint_id, customer_event_id, event_type) DO NOTHING
      RETURNING endpoint_id
    ),
    adv AS (UPDATE webhook_cursor c SET snapshot = s.snap::text FROM s WHERE c.id = 1 AND EXISTS (SELECT 1 FROM ev) RETURNING 1),
    -- The payload names the endpoints that got deliveries (empty when too many to list: any).
    touched AS (SELECT string_agg(DISTINCT endpoint_id::text, ',') AS ids FROM ins),
    woke AS (
      SELECT pg_notify(${DELIVERIES_CHANNEL}, CASE WHEN length(touched.ids) <= ${NOTIFY_IDS_MAX_CHARS} THEN touched.ids ELSE '' END)
      FROM touched WHERE touched.ids IS NOT NULL)
    SELECT (SELECT count(*) FROM cur)::int AS locked, (SELECT count(*) FROM ev)::int AS events,
           (SELECT count(*) FROM ins)::int AS queued, (SELECT count(*) FROM adv)::int + (SELECT count(*) FROM woke)::int AS done`;
}

/** One delivery of a batch: everything one attempt needs. */
export interface BatchItem {
  deliveryId: bigint;
  type: WebhookEventType;
  /** Attempts recorded before this one. */
  attempts: number;
  deadline: Date;
  /** Null when the event is no longer in the log (purged by EVENT_RETENTION_DAYS). */
  event: SourceEvent | null;
}

/** An endpoint leased to this instance, with its next due deliveries in queue (commit) order. */
export interface Batch {
  orgId: string;
  endpointId: string;
  url: string;
  /** Consecutive failed attempts of the endpoint so far (its breaker). */
  endpointFailures: number;
  /** Stored secrets of the endpoint that sign now, with their row ids. */
  secrets: { id: string; secret: string }[];
  leaseUntil: Date;
  items: BatchItem[];
}

interface ItemRow {
  id: bigint;
  org_id: string;
  endpoint_id: string;
  url: string;
  failure_count: number;
  event_type: string;
  attempts: number;
  deadline_at: Date;
  e_id: bigint | null;
  kind: string | null;
  kyc_from: string | null;
  kyc_to: string | null;
  aml_from: string | null;
  aml_to: string | null;
  snapshot: PublicCustomer | string | null;
  occurred_at: Date | null;
  secrets: { id: string; secret: string }[] | string | null;
}

const json = <T>(v: T | string): T => (typeof v === 'string' ? (JSON.parse(v) as T) : v);

/** Groups item rows (ordered by endpoint, then delivery id) into batches. */
function toBatches(rows: ItemRow[], leaseUntil: Date): Batch[] {
  const batches = new Map<string, Batch>();
  for (const r of rows) {
    let batch = batches.get(r.endpoint_id);
    if (!batch) {
      batch = {
        orgId: r.org_id,
        endpointId: r.endpoint_id,
        url: r.url,
        endpointFailures: Number(r.failure_count),
        secrets: r.secrets === null ? [] : json(r.secrets),
        leaseUntil,
        items: [],
      };
      batches.set(r.endpoint_id, batch);
    }
    batch.items.push({
      deliveryId: BigInt(r.id),
      type: r.event_type as WebhookEventType,
      attempts: Number(r.attempts),
      deadline: new Date(r.deadline_at),
      event:
        r.e_id === null || r.snapshot === null || r.occurred_at === null
          ? null
          : {
              id: BigInt(r.e_id),
              kind: r.kind as CustomerEventKind,
              kycFrom: r.kyc_from as KycStatus | null,
              kycTo: r.kyc_to as KycStatus | null,
              amlFrom: r.aml_from as AmlStatus | null,
              amlTo: r.aml_to as AmlStatus | null,
              occurredAt: new Date(r.occurred_at),
              snapshot: json(r.snapshot),
            },
    });
  }
  return [...batches.values()];
}

/**
 * What a leased endpoint (`e`) brings to its batch: URL, breaker, and the secrets that sign now,
 * once per endpoint (not per delivery), as text: the driver would parse JSON on every row.
 */
const leasedColumns = (now: Date) => Prisma.sql`e.id, e.url, e.failure_count,
  (SELECT json_agg(json_build_object('id', ws.id::text, 'secret', ws.secret) ORDER BY ws.expires_at DESC NULLS FIRST)::text
   FROM webhook_secrets ws WHERE ws.endpoint_id = e.id AND (ws.expires_at IS NULL OR ws.expires_at > ${now}::timestamptz)) AS secrets`;

/** Selects the items of CTE `batch` (id, endpoint_id) with their leased endpoint (CTE `leased`) and events. */
/**
 * The columns of a delivery a batch needs, read with the delivery when the batch is chosen
 * (`batch`), so that batchSelect does not read the rows again: joined back by id, with the
 * statistics of a table analyzed while empty, the planner walked the endpoint's whole backlog
 * through the (endpoint_id, …) unique index and matched the batch in it (measured: 3,000 rows
 * read for a batch of 50).
 */
const BATCH_COLUMNS = Prisma.raw('d.id, d.endpoint_id, d.org_id, d.event_type, d.attempts, d.deadline_at, d.customer_event_id');

const batchSelect = Prisma.sql`
  SELECT d.id, d.org_id::text AS org_id, d.endpoint_id::text AS endpoint_id, leased.url, leased.failure_count,
         d.event_type, d.attempts, d.deadline_at,
         e.id AS e_id, e.kind::text AS kind, e.kyc_from::text AS kyc_from, e.kyc_to::text AS kyc_to,
         e.aml_from::text AS aml_from, e.aml_to::text AS aml_to, e.snapshot, e.occurred_at, leased.secrets
  FROM batch d JOIN leased ON leased.id = d.endpoint_id
  LEFT JOIN customer_events e ON e.id = d.customer_event_id AND e.org_id = d.org_id
  ORDER BY d.endpoint_id, d.id`;

/** The due deliveries of an endpoint, oldest first (a LATERAL body: `ep.id` is the endpoint). */
const dueOf = (endpoint: Prisma.Sql, now: Date, size: number) => Prisma.sql`
  SELECT ${BATCH_COLUMNS} FROM webhook_deliveries d
  WHERE d.endpoint_id = ${endpoint} AND d.status = 'PENDING' AND d.next_attempt_at <= ${now}::timestamptz
  ORDER BY d.id LIMIT ${size}`;

/**
 * Leases up to `limit` endpoints that have due deliveries, with up to `size` of each endpoint's
 * oldest due deliveries (one statement). The endpoint row is the unit of work: locked with FOR
 * UPDATE SKIP LOCKED, so concurrent instances take different endpoints and never wait on each
 * other, and leased until `leaseUntil`, so one instance at a time sends to an endpoint (commit
 * order while it is healthy). A crashed instance's lease simply runs out; its deliveries,
 * still PENDING, go to whoever takes the endpoint next. Endpoints whose lease ended longest ago
 * come first (round robin when more are due than there are free slots). A paused endpoint (its
 * breaker, after failures) is skipped until its pause ends.
 */
export async function claimBatches(db: Tx, me: string, now: Date, leaseUntil: Date, limit: number, size: number): Promise<Batch[]> {
  const rows = await db.$queryRaw<ItemRow[]>`
    WITH ep AS (
      SELECT e.id FROM webhook_endpoints e
      WHERE e.enabled
        AND (e.lease_owner IS NULL OR e.lease_until IS NULL OR e.lease_until <= ${now}::timestamptz)
        AND (e.paused_until IS NULL OR e.paused_until <= ${now}::timestamptz)
        AND EXISTS (SELECT 1 FROM webhook_deliveries d
                    WHERE d.endpoint_id = e.id AND d.status = 'PENDING' AND d.next_attempt_at <= ${now}::timestamptz)
      ORDER BY e.lease_until NULLS FIRST, e.id
      LIMIT ${limit}
      FOR UPDATE OF e SKIP LOCKED
    ),
    batch AS (SELECT due.* FROM ep CROSS JOIN LATERAL (${dueOf(Prisma.sql`ep.id`, now, size)}) due),
    leased AS (
      UPDATE webhook_endpoints e SET lease_owner = ${me}, lease_until = ${leaseUntil}::timestamptz
      FROM (SELECT DISTINCT endpoint_id FROM batch) b WHERE e.id = b.endpoint_id
      RETURNING ${leasedColumns(now)}
    )
    ${batchSelect}`;
  return toBatches(rows, leaseUntil);
}

/**
 * "Delivery `d` is a pending one of this endpoint", in a form no index can take (IS NOT DISTINCT
 * FROM; both columns are NOT NULL, so it is plain equality), for statements that find their
 * deliveries by id. Written as equalities, the (endpoint_id, status, id) index matches them, and
 * when the statistics say the table is small (taken before a backlog grew, or never: the embedded
 * database) the planner walks the endpoint's whole queue and filters on id: measured, 15,000 rows
 * read to record a batch of 100, twice (the failures' update too, with no failure). Draining a
 * backlog of n deliveries then reads n²/200 rows.
 */
const pendingOf = (endpointId: string) =>
  Prisma.sql`(d.endpoint_id, d.status) IS NOT DISTINCT FROM (${endpointId}::uuid, 'PENDING'::"WebhookDeliveryStatus")`;

/** The result of one attempt of a batch item. */
export interface Sent {
  deliveryId: bigint;
  startedAt: Date;
  statusCode: number;
}

/** A failed attempt (the batch stopped dispatching there). `retryAt` null: out of time (FAILED). */
export interface Failed extends Omit<Sent, 'statusCode'> {
  statusCode: number | null;
  error: string;
  retryAt: Date | null;
  pauseUntil: Date;
}

/**
 * Records what a batch did, in one statement: the successes (always: they happened), the
 * failures if any (only while this instance still holds the lease: one that lost it to a
 * takeover leaves the retries to the new holder), the endpoint's breaker (one failure per
 * batch, paused until the first failure's retry), and, when `next` is given and nothing
 * failed, the next batch of the endpoint under a renewed lease (so a busy endpoint costs one
 * statement per batch, not per delivery). Deliveries of the batch that were not attempted
 * simply stay PENDING. Attempts are counted here: an attempt cut short by a crash is not
 * recorded.
 */
export async function recordBatch(
  db: Tx,
  me: string,
  batch: Batch,
  sent: readonly Sent[],
  failed: readonly Failed[],
  now: Date,
  next: { leaseUntil: Date; size: number } | null,
): Promise<Batch | null> {
  const rows = await db.$queryRaw<ItemRow[]>(recordBatchStatement(me, batch, sent, failed, now, next));
  return next ? (toBatches(rows, next.leaseUntil)[0] ?? null) : null;
}

/** recordBatch's statement (exported for the test of its plan). */
export function recordBatchStatement(
  me: string,
  batch: Pick<Batch, 'endpointId'>,
  sent: readonly Sent[],
  failed: readonly Failed[],
  now: Date,
  next: { leaseUntil: Date; size: number } | null,
): Prisma.Sql {
  const ids = sent.map((r) => r.deliveryId.toString());
  const failedIds = failed.map((f) => f.deliveryId.toString());
  const failing = failed.length > 0;
  const chain = next !== null && !failing;
  return Prisma.sql`
    -- Data-modifying CTEs run to completion even when the main query does not read them.
    WITH ok AS (
      -- Each row's own values are picked from the arrays by its id's position, not joined from
      -- unnest: with the statistics of a small table the planner joins a batch to itself in a
      -- nested loop (measured: 10,000 pairs compared, 3.4 ms, for a batch of 100).
      UPDATE webhook_deliveries d SET status = 'DELIVERED', delivered_at = ${now}::timestamptz,
        last_status_code = (${sent.map((r) => r.statusCode)}::int[])[array_position(${ids}::bigint[], d.id)],
        last_error = NULL, attempts = d.attempts + 1,
        last_attempt_at = (${sent.map((r) => r.startedAt)}::timestamptz[])[array_position(${ids}::bigint[], d.id)]
      -- Found by their ids only; the endpoint and the status are checked on the rows found, in a
      -- form no index can take (pendingOf).
      WHERE d.id = ANY(${ids}::bigint[]) AND ${pendingOf(batch.endpointId)}),
    batch AS (
      SELECT ${BATCH_COLUMNS} FROM webhook_deliveries d
      WHERE ${chain}::boolean
        -- The endpoint is looked up once (a subquery of no row of d), not joined to each
        -- delivery: joined, the planner estimated one delivery and read the endpoints table once
        -- per delivery (measured: 10 of the statement's 15 ms for a batch of 100).
        AND (SELECT e.enabled FROM webhook_endpoints e WHERE e.id = ${batch.endpointId}::uuid)
        AND d.endpoint_id = ${batch.endpointId}::uuid AND d.status = 'PENDING'
        AND d.next_attempt_at <= ${now}::timestamptz AND d.id <> ALL(${ids}::bigint[])
      ORDER BY d.id LIMIT ${next?.size ?? 0}),
    leased AS (
      UPDATE webhook_endpoints e SET
        -- The breaker: a failure counts and pauses, a success resets, nothing sent changes nothing.
        failure_count = CASE WHEN ${failing}::boolean THEN e.failure_count + 1 WHEN ${sent.length > 0}::boolean THEN 0 ELSE e.failure_count END,
        paused_until = CASE WHEN ${failing}::boolean THEN ${failed[0]?.pauseUntil ?? null}::timestamptz
                            WHEN ${sent.length > 0}::boolean THEN NULL ELSE e.paused_until END,
        lease_owner = CASE WHEN EXISTS (SELECT 1 FROM batch) THEN ${me} END,
        lease_until = CASE WHEN EXISTS (SELECT 1 FROM batch) THEN ${next?.leaseUntil ?? now}::timestamptz ELSE ${now}::timestamptz END
      WHERE e.id = ${batch.endpointId}::uuid AND e.lease_owner = ${me}
      RETURNING ${leasedColumns(now)}),
    bad AS (
      UPDATE webhook_deliveries d
      SET status = CASE WHEN f.retry IS NULL THEN 'FAILED' ELSE 'PENDING' END::"WebhookDeliveryStatus",
          next_attempt_at = coalesce(f.retry, d.next_attempt_at),
          last_status_code = f.code, last_error = f.error, attempts = d.attempts + 1, last_attempt_at = f.started
      FROM leased, unnest(${failedIds}::bigint[], ${failed.map((f) => f.retryAt)}::timestamptz[],
                          ${failed.map((f) => f.statusCode)}::int[], ${failed.map((f) => f.error.slice(0, 500))}::text[],
                          ${failed.map((f) => f.startedAt)}::timestamptz[]) AS f(id, retry, code, error, started)
      WHERE ${failing}::boolean AND d.id = f.id AND d.id = ANY(${failedIds}::bigint[]) AND ${pendingOf(batch.endpointId)})
    ${batchSelect}`;
}

/** When the oldest delivery still waiting (PENDING) was queued, across all endpoints; null when none waits. */
export async function oldestPendingAt(db: Tx): Promise<Date | null> {
  const rows = await db.$queryRaw<{ at: Date | null }[]>`
    SELECT min(x.created_at) AS at FROM webhook_endpoints e CROSS JOIN LATERAL (
      SELECT d.created_at FROM webhook_deliveries d WHERE d.endpoint_id = e.id AND d.status = 'PENDING' ORDER BY d.id LIMIT 1) x`;
  const at = rows[0]?.at;
  return at ? new Date(at) : null;
}

/** A delivery row as the management API reads it (Prisma field names). */
export interface DeliveryColumns {
  id: bigint;
  endpointId: string;
  customerEventId: bigint;
  eventType: string;
  status: WebhookDeliveryStatus;
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  lastAttemptAt: Date | null;
  nextAttemptAt: Date;
  deliveredAt: Date | null;
  createdAt: Date;
}

/** A row selected with DELIVERY_RETURNING, its ids as bigints (the driver may hand them over as text). */
const deliveryColumns = (r: DeliveryColumns): DeliveryColumns => ({ ...r, id: BigInt(r.id), customerEventId: BigInt(r.customerEventId) });

const DELIVERY_RETURNING = Prisma.raw(
  `id, endpoint_id::text AS "endpointId", customer_event_id AS "customerEventId", event_type AS "eventType", status::text AS status,
   attempts, last_status_code AS "lastStatusCode", last_error AS "lastError", last_attempt_at AS "lastAttemptAt",
   next_attempt_at AS "nextAttemptAt", delivered_at AS "deliveredAt", created_at AS "createdAt"`,
);

/**
 * A page of an endpoint's delivery log, newest first: deliveries with an id below `before`
 * (null: from the newest), of one status or of all. There is one ordered index,
 * (endpoint_id, status, id) (schema.prisma says why), so every status is read in its own range,
 * `limit` rows at most each, and the ranges merged: a page costs at most three `limit`-row index
 * scans however long the log, where a filter on status over an id-ordered scan could read every
 * delivered row of the endpoint to find a few failed ones.
 */
export async function deliveryLog(
  db: Tx,
  orgId: string,
  endpointId: string,
  status: WebhookDeliveryStatus | null,
  before: bigint | null,
  limit: number,
): Promise<DeliveryColumns[]> {
  const rows = await db.$queryRaw<DeliveryColumns[]>`
    SELECT d.* FROM unnest(enum_range(NULL::"WebhookDeliveryStatus")) AS s(status)
    CROSS JOIN LATERAL (
      SELECT ${DELIVERY_RETURNING} FROM webhook_deliveries
      WHERE endpoint_id = ${endpointId}::uuid AND status = s.status AND org_id = ${orgId}::uuid
        AND id < coalesce(${before?.toString() ?? null}::bigint, 9223372036854775807)
      ORDER BY id DESC LIMIT ${limit}) d
    WHERE ${status}::"WebhookDeliveryStatus" IS NULL OR s.status = ${status}::"WebhookDeliveryStatus"
    ORDER BY d.id DESC LIMIT ${limit}`;
  return rows.map(deliveryColumns);
}

/** Re-queues deliveries (replay tool): new ones are inserted, finished ones reset; pending ones are left alone. */
function requeueValues(now: Date) {
  return {
    next: Prisma.sql`${now}::timestamptz`,
    deadline: Prisma.sql`${new Date(now.getTime() + RETRY_WINDOW_MS)}::timestamptz`,
  };
}

const ON_CONFLICT_REQUEUE = Prisma.sql`
  ON CONFLICT (endpoint_id, customer_event_id, event_type) DO UPDATE
    SET status = 'PENDING', attempts = 0, next_attempt_at = EXCLUDED.next_attempt_at, deadline_at = EXCLUDED.deadline_at,
        delivered_at = NULL
    WHERE webhook_deliveries.status <> 'PENDING'`;

/**
 * Queues one webhook event for an endpoint again (redelivery), if the customer event exists in
 * the organisation and produces that type; returns the delivery id, or null when there is no
 * such event. A delivery still pending is left as it is (it is already going to be sent).
 */
export async function requeueEvent(
  db: Tx,
  orgId: string,
  endpointId: string,
  customerEventId: bigint,
  type: WebhookEventType,
  now: Date,
): Promise<DeliveryColumns | null> {
  const v = requeueValues(now);
  const rows = await db.$queryRaw<DeliveryColumns[]>`
    WITH ins AS (
      INSERT INTO webhook_deliveries (org_id, endpoint_id, customer_event_id, event_type, next_attempt_at, deadline_at, created_at)
      SELECT e.org_id, ${endpointId}::uuid, e.id, m.type, ${v.next}, ${v.deadline}, ${now}::timestamptz
      FROM customer_events e JOIN ${TYPE_TABLE}
        ON m.kind = e.kind::text AND m.status_to IS NOT DISTINCT FROM coalesce(e.kyc_to::text, e.aml_to::text)
      WHERE e.id = ${customerEventId}::bigint AND e.org_id = ${orgId}::uuid AND m.type = ${type}
      ${ON_CONFLICT_REQUEUE}
      RETURNING ${DELIVERY_RETURNING}),
    woke AS (SELECT pg_notify(${DELIVERIES_CHANNEL}, '') FROM (SELECT 1 FROM ins LIMIT 1) AS any_queued)
    SELECT r.* FROM (
      SELECT * FROM ins
      UNION ALL
      -- Still pending (left alone): as it is.
      SELECT ${DELIVERY_RETURNING} FROM webhook_deliveries
      WHERE endpoint_id = ${endpointId}::uuid AND customer_event_id = ${customerEventId}::bigint AND event_type = ${type}
        AND org_id = ${orgId}::uuid AND NOT EXISTS (SELECT 1 FROM ins)
    ) r CROSS JOIN (SELECT count(*) FROM woke) AS notified`;
  return rows[0] ? deliveryColumns(rows[0]) : null;
}

/**
 * Queues again every event of the organisation since `since` (at most `limit` customer events,
 * oldest first) whose types the endpoint receives. Returns how many webhook events were
 * queued and the time of the last customer event covered (to continue from when limited).
 */
export async function requeueSince(
  db: Tx,
  orgId: string,
  endpointId: string,
  since: Date,
  limit: number,
  now: Date,
): Promise<{ queued: number; events: number; lastOccurredAt: Date | null }> {
  const v = requeueValues(now);
  const rows = await db.$queryRaw<{ queued: number; events: number; last: Date | null }[]>`
    WITH ev AS (
      SELECT e.id, e.org_id, e.kind::text AS kind, coalesce(e.kyc_to::text, e.aml_to::text) AS status_to, e.occurred_at
      FROM customer_events e
      WHERE e.org_id = ${orgId}::uuid AND e.occurred_at >= ${since}::timestamptz
      ORDER BY e.occurred_at, e.id LIMIT ${limit}),
    ins AS (
      INSERT INTO webhook_deliveries (org_id, endpoint_id, customer_event_id, event_type, next_attempt_at, deadline_at, created_at)
      SELECT ev.org_id, ep.id, ev.id, m.type, ${v.next}, ${v.deadline}, ${now}::timestamptz
      FROM ev JOIN ${TYPE_TABLE} ON m.kind = ev.kind AND m.status_to IS NOT DISTINCT FROM ev.status_to
      JOIN webhook_endpoints ep ON ep.id = ${endpointId}::uuid AND ep.org_id = ev.org_id AND m.type = ANY(ep.events)
      ORDER BY ev.occurred_at, ev.id, m.ord
      ${ON_CONFLICT_REQUEUE}
      RETURNING 1),
    woke AS (SELECT pg_notify(${DELIVERIES_CHANNEL}, '') FROM (SELECT 1 FROM ins LIMIT 1) AS any_queued)
    SELECT (SELECT count(*) FROM ins)::int AS queued, (SELECT count(*) FROM ev)::int AS events,
           (SELECT max(occurred_at) FROM ev) AS last, (SELECT count(*) FROM woke)::int AS woke`;
  const r = rows[0];
  return { queued: r?.queued ?? 0, events: r?.events ?? 0, lastOccurredAt: r?.last ? new Date(r.last) : null };
}

/** Finished deliveries (DELIVERED, FAILED) stay in the delivery log this long, then are purged. */
export const DELIVERY_LOG_DAYS = 30;
const PURGE_BATCH = 5000;

/**
 * Deletes finished deliveries queued before `cutoff`, in bounded batches; returns how many.
 * Walks the primary key from the oldest id (ids grow with time), so no index on dates is needed.
 */
export async function purgeFinishedDeliveries(db: Tx, cutoff: Date): Promise<number> {
  let total = 0;
  for (;;) {
    const n = await db.$executeRaw`
      DELETE FROM webhook_deliveries WHERE id IN (
        SELECT id FROM webhook_deliveries WHERE status <> 'PENDING' AND created_at < ${cutoff}::timestamptz ORDER BY id LIMIT ${PURGE_BATCH})`;
    total += n;
    if (n < PURGE_BATCH) return total;
  }
}

// The delivery queue in SQL: the fan-out (customer events → deliveries, exactly once across
// instances), the claim of an endpoint's next delivery (one sender per endpoint at a time),
// the recording of an attempt, and the re-queueing of the replay tool. Each is one statement.
import type { PrismaClient } from '../db/client.js';
import { Prisma } from '../generated/prisma/client.js';
import type { AmlStatus, CustomerEventKind, KycStatus, WebhookDeliveryStatus } from '../generated/prisma/enums.js';
import type { PublicCustomer } from '../customers/dto.js';
import { RETRY_WINDOW_MS } from './backoff.js';
import { webhookTypeTable, type SourceEvent, type WebhookEventType } from './event-types.js';

/** NOTIFY channel that wakes every instance's sender when deliveries were queued. */
export const DELIVERIES_CHANNEL = 'webhook_deliveries';

/** `webhookTypesOf` as a table the statements join: (kind, status reached) → type, in sending order. */
const TYPE_TABLE = Prisma.sql`(VALUES ${Prisma.join(
  webhookTypeTable().map((r) => Prisma.sql`(${r.kind}::text, ${r.to}::text, ${r.type}::text, ${r.ord}::int)`),
)}) AS m(kind, status_to, type, ord)`;

const visible = (txid: Prisma.Sql, snapshot: Prisma.Sql) => Prisma.sql`pg_visible_in_snapshot(${txid}::text::xid8, ${snapshot})`;

export interface FanOutResult {
  /** False when another instance held the cursor (it covers these events, or its next round will). */
  locked: boolean;
  events: number;
  queued: number;
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
 * The cursor only moves when there were events: FOR UPDATE may hand this statement a cursor
 * row committed after its own snapshot was taken (EvalPlanQual), and then no event is in
 * (cursor, snapshot] and the cursor must stay where the other instance put it.
 */
export async function fanOut(prisma: PrismaClient, now: Date): Promise<FanOutResult> {
  const deadline = new Date(now.getTime() + RETRY_WINDOW_MS);
  const rows = await prisma.$queryRaw<{ locked: number; events: number; queued: number }[]>`
    WITH cur AS (SELECT snapshot::pg_snapshot AS snap FROM webhook_cursor WHERE id = 1 FOR UPDATE SKIP LOCKED),
    s AS (SELECT pg_current_snapshot() AS snap),
    ev AS (
      SELECT e.id, e.org_id, e.kind::text AS kind, coalesce(e.kyc_to::text, e.aml_to::text) AS status_to, e.occurred_at
      FROM cur CROSS JOIN s JOIN customer_events e
        ON e.txid >= pg_snapshot_xmin(cur.snap)::text::bigint
       AND ${visible(Prisma.sql`e.txid`, Prisma.sql`s.snap`)}
       AND NOT ${visible(Prisma.sql`e.txid`, Prisma.sql`cur.snap`)}
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
      RETURNING 1
    ),
    adv AS (UPDATE webhook_cursor c SET snapshot = s.snap::text FROM s WHERE c.id = 1 AND EXISTS (SELECT 1 FROM ev) RETURNING 1),
    woke AS (SELECT pg_notify(${DELIVERIES_CHANNEL}, '') FROM (SELECT 1 FROM ins LIMIT 1) AS any_queued)
    SELECT (SELECT count(*) FROM cur)::int AS locked, (SELECT count(*) FROM ev)::int AS events,
           (SELECT count(*) FROM ins)::int AS queued, (SELECT count(*) FROM adv)::int + (SELECT count(*) FROM woke)::int AS done`;
  const r = rows[0];
  return { locked: (r?.locked ?? 0) > 0, events: r?.events ?? 0, queued: r?.queued ?? 0 };
}

/** A delivery an instance has leased its endpoint for, with everything one attempt needs. */
export interface Job {
  deliveryId: bigint;
  orgId: string;
  endpointId: string;
  url: string;
  /** Consecutive failed attempts of the endpoint before this one (its breaker). */
  endpointFailures: number;
  type: WebhookEventType;
  /** Attempts of this delivery, this one included. */
  attempts: number;
  deadline: Date;
  /** Null when the event is no longer in the log (purged by EVENT_RETENTION_DAYS). */
  event: SourceEvent | null;
  /** Stored secrets of the endpoint that sign now (current first), with their row ids. */
  secrets: { id: string; secret: string }[];
}

interface JobRow {
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

function toJob(r: JobRow): Job {
  return {
    deliveryId: BigInt(r.id),
    orgId: r.org_id,
    endpointId: r.endpoint_id,
    url: r.url,
    endpointFailures: Number(r.failure_count),
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
    secrets: r.secrets === null ? [] : json(r.secrets),
  };
}

/** Selects the jobs of the deliveries just started in CTE `started`, leased endpoints in `leased`. */
const jobSelect = (now: Date) => Prisma.sql`
  SELECT st.id, st.org_id::text AS org_id, st.endpoint_id::text AS endpoint_id, leased.url, leased.failure_count,
         st.event_type, st.attempts, st.deadline_at,
         e.id AS e_id, e.kind::text AS kind, e.kyc_from::text AS kyc_from, e.kyc_to::text AS kyc_to,
         e.aml_from::text AS aml_from, e.aml_to::text AS aml_to, e.snapshot, e.occurred_at,
         (SELECT json_agg(json_build_object('id', ws.id::text, 'secret', ws.secret) ORDER BY ws.expires_at DESC NULLS FIRST)
          FROM webhook_secrets ws
          WHERE ws.endpoint_id = st.endpoint_id AND (ws.expires_at IS NULL OR ws.expires_at > ${now}::timestamptz)) AS secrets
  FROM started st JOIN leased ON leased.id = st.endpoint_id
  LEFT JOIN customer_events e ON e.id = st.customer_event_id AND e.org_id = st.org_id`;

/**
 * Leases up to `limit` endpoints that have a due delivery and starts the oldest due delivery
 * of each (one statement). The endpoint row is the unit of work: locked with FOR UPDATE SKIP
 * LOCKED, so concurrent instances take different endpoints and never wait on each other, and
 * leased until `leaseUntil`, so one instance at a time sends to an endpoint (commit order
 * while it is healthy). A crashed instance's lease simply runs out; its delivery, still
 * PENDING, is started again by whoever takes the endpoint next. Endpoints whose lease ended
 * longest ago come first (round robin when more are due than there are free slots). A paused
 * endpoint (its breaker, after failures) is skipped until its pause ends.
 */
export async function claimJobs(prisma: PrismaClient, me: string, now: Date, leaseUntil: Date, limit: number): Promise<Job[]> {
  const rows = await prisma.$queryRaw<JobRow[]>`
    WITH ep AS (
      SELECT e.id FROM webhook_endpoints e
      WHERE e.enabled
        AND (e.lease_until IS NULL OR e.lease_until <= ${now}::timestamptz OR e.lease_owner IS NULL)
        AND (e.paused_until IS NULL OR e.paused_until <= ${now}::timestamptz)
        AND EXISTS (SELECT 1 FROM webhook_deliveries d
                    WHERE d.endpoint_id = e.id AND d.status = 'PENDING' AND d.next_attempt_at <= ${now}::timestamptz)
      ORDER BY e.lease_until NULLS FIRST, e.id
      LIMIT ${limit}
      FOR UPDATE OF e SKIP LOCKED
    ),
    head AS (
      SELECT h.id, ep.id AS endpoint_id FROM ep CROSS JOIN LATERAL (
        SELECT d.id FROM webhook_deliveries d
        WHERE d.endpoint_id = ep.id AND d.status = 'PENDING' AND d.next_attempt_at <= ${now}::timestamptz
        ORDER BY d.id LIMIT 1) h
    ),
    leased AS (
      UPDATE webhook_endpoints e SET lease_owner = ${me}, lease_until = ${leaseUntil}::timestamptz
      FROM head WHERE e.id = head.endpoint_id
      RETURNING e.id, e.url, e.failure_count
    ),
    started AS (
      UPDATE webhook_deliveries d SET attempts = d.attempts + 1, last_attempt_at = ${now}::timestamptz
      FROM head WHERE d.id = head.id
      RETURNING d.id, d.org_id, d.endpoint_id, d.customer_event_id, d.event_type, d.attempts, d.deadline_at
    )
    ${jobSelect(now)}
    ORDER BY st.id`;
  return rows.map(toJob);
}

/** What an attempt came to, as the queue records it. */
export type AttemptRecord =
  | { ok: true; statusCode: number }
  /** `retryAt` null: out of time (or nothing left to send): the delivery is FAILED. */
  | { ok: false; statusCode: number | null; error: string; retryAt: Date | null; pauseUntil: Date };

/**
 * Records an attempt and, after a success, starts the endpoint's next due delivery under the
 * same lease (one statement: the next attempt costs no separate claim). A failure releases the
 * endpoint and pauses it until `pauseUntil`. Recording is guarded by the lease: an instance
 * whose lease ran out (and was taken over) records a success, never a failure, and starts
 * nothing.
 */
export async function recordAttempt(
  prisma: PrismaClient,
  me: string,
  job: Job,
  result: AttemptRecord,
  now: Date,
  next: { leaseUntil: Date } | null,
): Promise<Job | null> {
  const mine = Prisma.sql`e.id = ${job.endpointId}::uuid AND e.lease_owner = ${me}`;
  if (!result.ok) {
    await prisma.$executeRaw`
      WITH ep AS (
        UPDATE webhook_endpoints e SET lease_owner = NULL, lease_until = ${now}::timestamptz,
          failure_count = e.failure_count + 1, paused_until = ${result.pauseUntil}::timestamptz
        WHERE ${mine} RETURNING e.id)
      UPDATE webhook_deliveries d
      SET status = ${result.retryAt === null ? 'FAILED' : 'PENDING'}::text::"WebhookDeliveryStatus",
          next_attempt_at = coalesce(${result.retryAt}::timestamptz, d.next_attempt_at),
          last_status_code = ${result.statusCode}::int, last_error = ${result.error.slice(0, 500)}
      FROM ep WHERE d.id = ${job.deliveryId}::bigint AND d.status = 'PENDING'`;
    return null;
  }
  const chain = next !== null;
  const rows = await prisma.$queryRaw<JobRow[]>`
    -- Data-modifying CTEs run to completion even when the main query does not read them.
    WITH done AS (
      UPDATE webhook_deliveries SET status = 'DELIVERED', delivered_at = ${now}::timestamptz,
        last_status_code = ${result.statusCode}::int, last_error = NULL
      WHERE id = ${job.deliveryId}::bigint AND status = 'PENDING' RETURNING id),
    nxt AS (
      SELECT d.id, d.endpoint_id FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id AND e.enabled
      WHERE ${chain}::boolean AND d.endpoint_id = ${job.endpointId}::uuid AND d.status = 'PENDING'
        AND d.next_attempt_at <= ${now}::timestamptz AND d.id <> ${job.deliveryId}::bigint
      ORDER BY d.id LIMIT 1),
    leased AS (
      UPDATE webhook_endpoints e SET failure_count = 0, paused_until = NULL,
        lease_owner = CASE WHEN EXISTS (SELECT 1 FROM nxt) THEN ${me} END,
        lease_until = CASE WHEN EXISTS (SELECT 1 FROM nxt) THEN ${next?.leaseUntil ?? now}::timestamptz ELSE ${now}::timestamptz END
      WHERE ${mine} RETURNING e.id, e.url, e.failure_count),
    started AS (
      UPDATE webhook_deliveries d SET attempts = d.attempts + 1, last_attempt_at = ${now}::timestamptz
      FROM nxt, leased WHERE d.id = nxt.id AND leased.id = nxt.endpoint_id
      RETURNING d.id, d.org_id, d.endpoint_id, d.customer_event_id, d.event_type, d.attempts, d.deadline_at)
    ${jobSelect(now)}`;
  const row = rows[0];
  return row ? toJob(row) : null;
}

/** When the oldest delivery still waiting (PENDING) was queued, across all endpoints; null when none waits. */
export async function oldestPendingAt(prisma: PrismaClient): Promise<Date | null> {
  const rows = await prisma.$queryRaw<{ at: Date | null }[]>`
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

const DELIVERY_RETURNING = Prisma.raw(
  `id, endpoint_id::text AS "endpointId", customer_event_id AS "customerEventId", event_type AS "eventType", status::text AS status,
   attempts, last_status_code AS "lastStatusCode", last_error AS "lastError", last_attempt_at AS "lastAttemptAt",
   next_attempt_at AS "nextAttemptAt", delivered_at AS "deliveredAt", created_at AS "createdAt"`,
);

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
  prisma: PrismaClient,
  orgId: string,
  endpointId: string,
  customerEventId: bigint,
  type: WebhookEventType,
  now: Date,
): Promise<DeliveryColumns | null> {
  const v = requeueValues(now);
  const rows = await prisma.$queryRaw<DeliveryColumns[]>`
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
  return rows[0] ?? null;
}

/**
 * Queues again every event of the organisation since `since` (at most `limit` customer events,
 * oldest first) whose types the endpoint receives. Returns how many webhook events were
 * queued and the time of the last customer event covered (to continue from when limited).
 */
export async function requeueSince(
  prisma: PrismaClient,
  orgId: string,
  endpointId: string,
  since: Date,
  limit: number,
  now: Date,
): Promise<{ queued: number; events: number; lastOccurredAt: Date | null }> {
  const v = requeueValues(now);
  const rows = await prisma.$queryRaw<{ queued: number; events: number; last: Date | null }[]>`
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

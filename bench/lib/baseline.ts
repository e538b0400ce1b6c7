// Raw-pg baselines: the SQL the gateway sends, sent by `pg` straight from the load generator.
// The statements were recorded from the gateway with db.onQuery (bench/tools/record-statements.ts)
// and are replayed here with the same texts and parameters, so the ratio measures what the
// gateway adds on top of the database work (HTTP, GraphQL/REST, Prisma, rendering).
import { randomUUID } from 'node:crypto';
import type pg from 'pg';

const CUSTOMER_COLUMNS = `"public"."customers"."id", "public"."customers"."org_id", "public"."customers"."external_id", "public"."customers"."type"::text, "public"."customers"."full_name", "public"."customers"."email", "public"."customers"."email_key", "public"."customers"."phone", "public"."customers"."risk_is_new_customer", "public"."customers"."risk_is_designated_service", "public"."customers"."risk_handles_cash_or_crypto", "public"."customers"."kyc_status"::text, "public"."customers"."kyc_started_at", "public"."customers"."kyc_completed_at", "public"."customers"."verified_legal_name", "public"."customers"."verified_country", "public"."customers"."aml_status"::text, "public"."customers"."aml_screened_at", "public"."customers"."aml_last_reviewed_at", "public"."customers"."aml_pep", "public"."customers"."aml_sanctions", "public"."customers"."aml_adverse_media", "public"."customers"."aml_terrorism", "public"."customers"."added_via"::text, "public"."customers"."created_at", "public"."customers"."updated_at"`;

/**
 * The statements of one fresh upsert (create path with an idempotency key) as first recorded,
 * before the round-trip work of issue 6: 14 round trips. Kept as a second, informational
 * baseline (what the same work cost when sent statement by statement).
 */
export const UPSERT_SQL_BEFORE = {
  lockTimeout: `SELECT set_config('lock_timeout', $1, true)`,
  claim: `INSERT INTO idempotency_keys (org_id, operation, key, request_hash, status, response, created_at, expires_at) VALUES ($1::uuid, $2, $3, $4, 0, 'null'::jsonb, $5::timestamptz, $6::timestamptz) ON CONFLICT (org_id, operation, key) DO UPDATE SET request_hash = EXCLUDED.request_hash, status = 0, response = 'null'::jsonb, created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at WHERE idempotency_keys.expires_at <= EXCLUDED.created_at RETURNING 1 AS claimed`,
  lockTimeoutOff: `SELECT set_config('lock_timeout', '0', true)`,
  advisoryLock: `SELECT 1 FROM pg_advisory_xact_lock(hashtextextended($1, 0))`,
  lockRows: `SELECT 1 FROM customers WHERE org_id = $1::uuid AND (email_key = $2 OR external_id = $3) FOR UPDATE`,
  byExternalId: `SELECT ${CUSTOMER_COLUMNS} FROM "public"."customers" WHERE (("public"."customers"."org_id" = $1 AND "public"."customers"."external_id" = $2) AND 1=1) LIMIT $3 OFFSET $4`,
  byEmail: `SELECT ${CUSTOMER_COLUMNS} FROM "public"."customers" WHERE (("public"."customers"."org_id" = $1 AND "public"."customers"."email_key" = $2) AND 1=1) LIMIT $3 OFFSET $4`,
  insertCustomer: `INSERT INTO "public"."customers" ("id","org_id","external_id","type","full_name","email","email_key","phone","risk_is_new_customer","risk_is_designated_service","risk_handles_cash_or_crypto","kyc_status","aml_status","aml_pep","aml_sanctions","aml_adverse_media","aml_terrorism","added_via","created_at","updated_at") VALUES ($1,$2,$3,CAST($4::text AS "public"."CustomerType"),$5,$6,$7,$8,$9,$10,$11,CAST($12::text AS "public"."KycStatus"),CAST($13::text AS "public"."AmlStatus"),$14,$15,$16,$17,CAST($18::text AS "public"."AddedVia"),$19,$20) RETURNING ${CUSTOMER_COLUMNS}`,
  insertEvent: `INSERT INTO "public"."customer_events" ("org_id","customer_id","kind","kyc_from","kyc_to","aml_from","aml_to","snapshot","occurred_at","actor_kind") VALUES ($1,$2,CAST($3::text AS "public"."CustomerEventKind"),$4,$5,$6,$7,$8,$9,'SYSTEM') RETURNING "public"."customer_events"."id", "public"."customer_events"."org_id", "public"."customer_events"."customer_id", "public"."customer_events"."kind"::text, "public"."customer_events"."kyc_from"::text, "public"."customer_events"."kyc_to"::text, "public"."customer_events"."aml_from"::text, "public"."customer_events"."aml_to"::text, "public"."customer_events"."snapshot", "public"."customer_events"."txid", "public"."customer_events"."occurred_at"`,
  notify: `SELECT pg_notify($1, $2)`,
  storeResponse: `UPDATE idempotency_keys SET status = $1, response = to_jsonb($2::text) WHERE org_id = $3::uuid AND operation = $4 AND key = $5`,
} as const;

/** Round trips of UPSERT_SQL_BEFORE, BEGIN and COMMIT included. */
export const UPSERT_ROUND_TRIPS_BEFORE = 14;

/**
 * The statements the gateway sends now for the same fresh upsert, as printed by
 * bench/tools/record-statements.ts (re-recorded 2026-12-02, after events gained their actor and
 * the writes moved to src/db/write-statements.ts; the candidates' lock as customers/row.ts
 * lockCustomersStatement builds it since 4388915): claim (with its bounded wait, the
 * stored-response read and the end of the wait), advisory locks, candidates FOR UPDATE, then
 * customer + stored response + event (with its actor) as CTEs and the NOTIFY.
 */
export const UPSERT_SQL = {
  claim: `WITH ins AS ( INSERT INTO idempotency_keys (org_id, operation, key, request_hash, status, response, created_at, expires_at) SELECT $1::uuid, $2, $3, $4, 0, 'null'::jsonb, $5::timestamptz, $6::timestamptz FROM (SELECT set_config('lock_timeout', $7, true)) AS bounded_wait ON CONFLICT (org_id, operation, key) DO UPDATE SET request_hash = EXCLUDED.request_hash, status = 0, response = 'null'::jsonb, created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at WHERE idempotency_keys.expires_at <= EXCLUDED.created_at RETURNING 1), found AS ( SELECT true AS claimed, NULL AS request_hash, NULL::int AS status, NULL AS body FROM ins UNION ALL SELECT false, request_hash, status, response #>> '{}' FROM idempotency_keys WHERE org_id = $8::uuid AND operation = $9 AND key = $10 AND NOT EXISTS (SELECT 1 FROM ins)) SELECT found.*, set_config('lock_timeout', '0', true) AS wait_ended FROM found`,
  advisoryLocks: `SELECT count(pg_advisory_xact_lock(hashtextextended(k, 0))) AS locked FROM unnest($1::text[]) AS k`,
  candidates: `SELECT id AS "id", org_id AS "orgId", external_id AS "externalId", type::text AS "type", full_name AS "fullName", email AS "email", email_key AS "emailKey", phone AS "phone", risk_is_new_customer AS "riskIsNewCustomer", risk_is_designated_service AS "riskIsDesignatedService", risk_handles_cash_or_crypto AS "riskHandlesCashOrCrypto", kyc_status::text AS "kycStatus", kyc_started_at AS "kycStartedAt", kyc_completed_at AS "kycCompletedAt", verified_legal_name AS "verifiedLegalName", verified_country AS "verifiedCountry", aml_status::text AS "amlStatus", aml_screened_at AS "amlScreenedAt", aml_last_reviewed_at AS "amlLastReviewedAt", aml_pep AS "amlPep", aml_sanctions AS "amlSanctions", aml_adverse_media AS "amlAdverseMedia", aml_terrorism AS "amlTerrorism", added_via::text AS "addedVia", created_at AS "createdAt", updated_at AS "updatedAt" FROM customers WHERE id = ANY(ARRAY( SELECT id FROM customers WHERE id = ANY($1::uuid[]) UNION ALL SELECT id FROM customers WHERE org_id = (SELECT $2::uuid) AND external_id = ANY($3::text[]) UNION ALL SELECT id FROM customers WHERE org_id = (SELECT $4::uuid) AND email_key = ANY($5::text[]))) AND (org_id = $6::uuid) IS TRUE FOR UPDATE`,
  customerEventAndResponse: `WITH w0 AS (INSERT INTO customers (id, org_id, external_id, type, full_name, email, email_key, phone, risk_is_new_customer, risk_is_designated_service, risk_handles_cash_or_crypto, kyc_status, kyc_started_at, kyc_completed_at, verified_legal_name, verified_country, aml_status, aml_screened_at, aml_last_reviewed_at, aml_pep, aml_sanctions, aml_adverse_media, aml_terrorism, added_via, created_at, updated_at) VALUES ($1::uuid,$2::uuid,$3::text,$4::text::"CustomerType",$5::text,$6::text,$7::text,$8::text,$9::boolean,$10::boolean,$11::boolean,$12::text::"KycStatus",$13::timestamptz,$14::timestamptz,$15::text,$16::text,$17::text::"AmlStatus",$18::timestamptz,$19::timestamptz,$20::boolean,$21::boolean,$22::boolean,$23::boolean,$24::text::"AddedVia",$25::timestamptz,$26::timestamptz)), w1 AS ( UPDATE idempotency_keys SET status = $27, response = to_jsonb($28::text) WHERE org_id = $29::uuid AND operation = $30 AND key = $31), w2 AS ( INSERT INTO customer_events (org_id, customer_id, kind, kyc_from, kyc_to, aml_from, aml_to, snapshot, actor_kind, actor_key_id, actor_key_label) VALUES ( $32::uuid, $33::uuid, $34::text::"CustomerEventKind", $35::text::"KycStatus", $36::text::"KycStatus", $37::text::"AmlStatus", $38::text::"AmlStatus", $39::jsonb, $40::text::"ActorKind", $41::uuid, $42::text)) SELECT pg_notify($43, $44)`,
} as const;

/** Round trips of one baseline upsert now, BEGIN and COMMIT included. */
export const UPSERT_ROUND_TRIPS = 6;

const HASH = 'a'.repeat(64);
/** The actor of the baseline's events: an API key, as for every gateway request (the column has no foreign key). */
const ACTOR_KEY_ID = randomUUID();

/** One fresh upsert transaction, statement for statement what the gateway sends now. */
export async function rawUpsert(pool: pg.Pool, orgId: string, tag: string): Promise<void> {
  const client = await pool.connect();
  const now = new Date();
  const expires = new Date(now.getTime() + 24 * 3_600_000);
  const externalId = `crm-${tag}`;
  const email = `bench.${tag}@example.com`;
  const id = randomUUID();
  try {
    await client.query('BEGIN');
    const claim = await client.query<{ claimed: boolean }>(UPSERT_SQL.claim, [
      orgId,
      'POST /customers',
      tag,
      HASH,
      now,
      expires,
      '5000ms',
      orgId,
      'POST /customers',
      tag,
    ]);
    if (claim.rows[0]?.claimed !== true) throw new Error('baseline: key not claimed');
    // Sorted like the gateway's lockNaturalKeys: "email:…" before "ext:…".
    await client.query(UPSERT_SQL.advisoryLocks, [[`customer|${orgId}|email:${email}`, `customer|${orgId}|ext:${externalId}`]]);
    await client.query(UPSERT_SQL.candidates, [[], orgId, [externalId], orgId, [email], orgId]);
    // The row and its public snapshot are built before the statement, as the gateway does.
    const snapshot = JSON.stringify({
      id,
      externalId,
      type: 'INDIVIDUAL',
      fullName: `Bench Customer ${tag}`,
      email,
      kycStatus: 'NOT_STARTED',
      kycStartedAt: null,
      kycCompletedAt: null,
      identity: null,
      aml: {
        status: 'NOT_SCREENED',
        screenedAt: null,
        lastReviewedAt: null,
        flags: { pep: false, sanctions: false, adverseMedia: false, terrorism: false },
      },
      addedVia: 'INTEGRATION',
      createdAt: now.toISOString(),
      updatedAt: now.toISOString(),
    });
    await client.query(UPSERT_SQL.customerEventAndResponse, [
      id,
      orgId,
      externalId,
      'INDIVIDUAL',
      `Bench Customer ${tag}`,
      email,
      email,
      '+61400000000',
      true,
      false,
      false,
      'NOT_STARTED',
      null,
      null,
      null,
      null,
      'NOT_SCREENED',
      null,
      null,
      false,
      false,
      false,
      false,
      'INTEGRATION',
      now,
      now,
      201,
      snapshot,
      orgId,
      'POST /customers',
      tag,
      orgId,
      id,
      'CREATED',
      null,
      null,
      null,
      null,
      snapshot,
      'API_KEY',
      ACTOR_KEY_ID,
      'bench key',
      'customer_events',
      orgId,
    ]);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

/** The same fresh upsert as UPSERT_SQL_BEFORE: statement for statement what the gateway sent before issue 6. */
export async function rawUpsertBefore(pool: pg.Pool, orgId: string, tag: string): Promise<void> {
  const client = await pool.connect();
  const now = new Date();
  const expires = new Date(now.getTime() + 24 * 3_600_000);
  const externalId = `crm-${tag}`;
  const email = `bench.${tag}@example.com`;
  const id = randomUUID();
  try {
    await client.query('BEGIN');
    await client.query(UPSERT_SQL_BEFORE.lockTimeout, ['5000ms']);
    await client.query(UPSERT_SQL_BEFORE.claim, [orgId, 'POST /customers', tag, HASH, now, expires]);
    await client.query(UPSERT_SQL_BEFORE.lockTimeoutOff);
    // Sorted like the gateway's lockNaturalKeys: "email:…" before "ext:…".
    await client.query(UPSERT_SQL_BEFORE.advisoryLock, [`customer|${orgId}|email:${email}`]);
    await client.query(UPSERT_SQL_BEFORE.advisoryLock, [`customer|${orgId}|ext:${externalId}`]);
    await client.query(UPSERT_SQL_BEFORE.lockRows, [orgId, email, externalId]);
    await client.query(UPSERT_SQL_BEFORE.byExternalId, [orgId, externalId, 1, 0]);
    await client.query(UPSERT_SQL_BEFORE.byEmail, [orgId, email, 1, 0]);
    const { rows } = await client.query(UPSERT_SQL_BEFORE.insertCustomer, [
      id,
      orgId,
      externalId,
      'INDIVIDUAL',
      `Bench Customer ${tag}`,
      email,
      email,
      '+61400000000',
      true,
      false,
      false,
      'NOT_STARTED',
      'NOT_SCREENED',
      false,
      false,
      false,
      false,
      'INTEGRATION',
      now,
      now,
    ]);
    const row = rows[0] as Record<string, unknown>;
    // The snapshot and the stored response are JSON of the public fields, as the gateway writes.
    const snapshot = JSON.stringify({ ...row, org_id: undefined, phone: undefined });
    await client.query(UPSERT_SQL_BEFORE.insertEvent, [orgId, id, 'CREATED', null, null, null, null, snapshot, now]);
    await client.query(UPSERT_SQL_BEFORE.notify, ['customer_events', orgId]);
    await client.query(UPSERT_SQL_BEFORE.storeResponse, [201, snapshot, orgId, 'POST /customers', tag]);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

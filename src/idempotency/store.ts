// Idempotency keys (SPEC section 4). A key is claimed, the work done and the rendered response
// stored in ONE transaction (see upsert.ts): a concurrent duplicate blocks on the key's primary
// key until the first commits and then reads the stored response; if the first rolls back
// (crash, lost connection, 5xx) nothing of it remains, so a key can never be left stuck.
import { createHash } from 'node:crypto';
import type { PrismaClient, Tx } from '../db/client.js';
import { Prisma } from '../generated/prisma/client.js';
import type { FieldError } from '../lib/error-codes.js';
import { checkStorableText, textLength } from '../lib/text.js';

export const IDEMPOTENCY_KEY_MAX_LENGTH = 255;
/** How often expired keys are purged in the background (services.background). */
export const IDEMPOTENCY_PURGE_INTERVAL_MS = 10 * 60 * 1000;

/** Where a key lives: per organisation and per operation (REST method + route with its id, or GraphQL field name). */
export interface IdempotencyScope {
  orgId: string;
  operation: string;
  key: string;
}

/** A surface's rendering of a result: HTTP status and the exact JSON body (REST), or the GraphQL payload. */
export interface StoredResponse {
  status: number;
  body: unknown;
}

export type Claim =
  /** This transaction owns the key: run the work, then `storeResponse`. */
  | { kind: 'claimed' }
  /** A live key already holds a response (committed by an earlier request). */
  | { kind: 'stored'; requestHash: string; response: StoredResponse };

/** Checks a key: 1–255 characters of text PostgreSQL can store. */
export function validateIdempotencyKey(key: string, field = 'idempotencyKey'): FieldError | null {
  if (key.length === 0) return { field, message: 'must not be empty' };
  const unstorable = checkStorableText(key, field);
  if (unstorable) return unstorable;
  if (textLength(key) > IDEMPOTENCY_KEY_MAX_LENGTH) return { field, message: `must be at most ${IDEMPOTENCY_KEY_MAX_LENGTH} characters` };
  return null;
}

/** JSON with object keys sorted at every level, so that key order does not change the hash. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  const entries = Object.keys(value)
    .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
  return `{${entries.join(',')}}`;
}

/** SHA-256 (hex) of the canonical JSON of a request. */
export function requestHash(request: unknown): string {
  return createHash('sha256').update(canonicalJson(request)).digest('hex');
}

/**
 * Claims a key inside the caller's transaction, or returns the response stored under it.
 * An expired key counts as absent and is overwritten. While another transaction holds the
 * same key uncommitted, this waits at most `waitMs` (PostgreSQL lock_timeout); past that it
 * throws PostgreSQL's lock-timeout error (classifyDatabaseError in db/errors.ts: `lock_timeout`).
 *
 * One round trip in the usual cases: the lock_timeout is set by the statement's own input row
 * (evaluated before the row is inserted, so before any wait on the key), and a live key's stored
 * response is read by the same statement. That read uses the statement's snapshot, taken before
 * a wait on a concurrent duplicate; when the duplicate committed during the wait it finds
 * nothing, and a second statement (with a fresh snapshot) reads it.
 *
 * The lock_timeout stays set when the key is claimed: the caller's next statement must include
 * `RESET_LOCK_TIMEOUT` so that the work's own lock waits are not bounded (lockNaturalKeys does).
 */
export async function claimKey(tx: Tx, scope: IdempotencyScope, hash: string, now: Date, ttlHours: number, waitMs: number): Promise<Claim> {
  const expiresAt = new Date(now.getTime() + ttlHours * 3_600_000);
  // lock_timeout 0 would mean "forever"; the wait must stay bounded.
  const rows = await tx.$queryRaw<{ claimed: boolean; request_hash: string | null; status: number | null; body: string | null }[]>`
    WITH ins AS (
      INSERT INTO idempotency_keys (org_id, operation, key, request_hash, status, response, created_at, expires_at)
      SELECT ${scope.orgId}::uuid, ${scope.operation}, ${scope.key}, ${hash}, 0, 'null'::jsonb, ${now}::timestamptz, ${expiresAt}::timestamptz
      FROM (SELECT set_config('lock_timeout', ${`${Math.max(1, waitMs)}ms`}, true)) AS bounded_wait
      ON CONFLICT (org_id, operation, key) DO UPDATE
        SET request_hash = EXCLUDED.request_hash, status = 0, response = 'null'::jsonb,
            created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at
        WHERE idempotency_keys.expires_at <= EXCLUDED.created_at
      RETURNING 1)
    SELECT true AS claimed, NULL AS request_hash, NULL::int AS status, NULL AS body FROM ins
    UNION ALL
    SELECT false, request_hash, status, response #>> '{}'
    FROM idempotency_keys
    WHERE org_id = ${scope.orgId}::uuid AND operation = ${scope.operation} AND key = ${scope.key} AND NOT EXISTS (SELECT 1 FROM ins)`;
  if (rows.some((r) => r.claimed)) return { kind: 'claimed' };
  const row =
    rows[0] ??
    (
      await tx.$queryRaw<{ request_hash: string; status: number; body: string }[]>`
        SELECT request_hash, status, response #>> '{}' AS body
        FROM idempotency_keys
        WHERE org_id = ${scope.orgId}::uuid AND operation = ${scope.operation} AND key = ${scope.key}`
    )[0];
  // The conflicting row was live a statement ago and only the purge deletes (expired) rows.
  if (!row) throw new Error('idempotency key vanished between claim and read');
  return { kind: 'stored', requestHash: row.request_hash!, response: { status: Number(row.status), body: JSON.parse(row.body!) } };
}

/** Ends the bounded wait of claimKey (lock_timeout 0: no limit); a select-list item for the next statement. */
export const RESET_LOCK_TIMEOUT = Prisma.sql`set_config('lock_timeout', '0', true)`;

/**
 * The statement that stores the rendered response under a key claimed in this transaction, as
 * a fragment the caller may send on its own or inside a CTE with the write's other statements.
 * The body is kept as its JSON text (a jsonb string) so that a replay returns it byte for byte,
 * key order included.
 */
export function storeResponseSql(scope: IdempotencyScope, response: StoredResponse): Prisma.Sql {
  const text = JSON.stringify(response.body);
  return Prisma.sql`
    UPDATE idempotency_keys SET status = ${response.status}, response = to_jsonb(${text}::text)
    WHERE org_id = ${scope.orgId}::uuid AND operation = ${scope.operation} AND key = ${scope.key}`;
}

/** Stores the rendered response under a key claimed in this transaction. */
export async function storeResponse(tx: Tx, scope: IdempotencyScope, response: StoredResponse): Promise<void> {
  await tx.$executeRaw(storeResponseSql(scope, response));
}

/** Deletes keys whose 24 hours (configurable) are over; returns how many. */
export async function purgeExpiredKeys(prisma: PrismaClient, now: Date): Promise<number> {
  return prisma.$executeRaw`DELETE FROM idempotency_keys WHERE expires_at <= ${now}::timestamptz`;
}

// Idempotency keys (SPEC section 4). A key is claimed, the work done and the rendered response
// stored in ONE transaction (customers/upsert.ts): a concurrent duplicate blocks on the key's
// primary key until the first commits and then reads the stored response; if the first rolls
// back (crash, lost connection, 5xx) nothing of it remains, so a key can never be left stuck.
import { createHash } from 'node:crypto';
import type { PrismaClient, Tx } from '../db/client.js';
import { WriteStatement } from '../db/write-statements.js';
import { Prisma } from '../generated/prisma/client.js';
import { MS_PER_HOUR, MS_PER_MINUTE } from '../lib/duration.js';
import type { FieldError } from '../lib/error-codes.js';
import { checkStorableText, textLength } from '../lib/text.js';

export const IDEMPOTENCY_KEY_MAX_LENGTH = 255;
/** How often expired keys are purged in the background (services.background). */
export const IDEMPOTENCY_PURGE_INTERVAL_MS = 10 * MS_PER_MINUTE;

/** Where a key lives: per organisation and per operation (REST method + route with its id, or GraphQL field name). */
export interface IdempotencyScope {
  orgId: string;
  operation: string;
  key: string;
}

/**
 * A surface's rendering of a result: HTTP status and the exact JSON body (REST), or the GraphQL
 * payload. `Body` must be plain JSON: it is stored as JSON text and read back as such.
 */
export interface StoredResponse<Body = unknown> {
  status: number;
  body: Body;
}

/** How long keys live, and how long a duplicate waits for the request that holds its key. */
export interface IdempotencyPolicy {
  ttlHours: number;
  waitMs: number;
}

/** A request that carries a key: where the key lives and the hash of what it stands for. */
export interface KeyedRequest {
  scope: IdempotencyScope;
  hash: string;
}

export type Claim<Body> =
  /** This transaction holds the key until it ends: run the work and store its response with `key.store`. */
  | { kind: 'claimed'; key: ClaimedKey }
  /** The key holds the response of the same request, committed earlier: replay it. */
  | { kind: 'replay'; response: StoredResponse<Body> }
  /** The key was used with a different request. */
  | { kind: 'conflict' };

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
  const entries = Object.entries(value)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`);
  return `{${entries.join(',')}}`;
}

/** SHA-256 (hex) of the canonical JSON of a request. */
export function requestHash(request: unknown): string {
  return createHash('sha256').update(canonicalJson(request)).digest('hex');
}

/** A request's key, checked: none sent, a bad one (nothing may run), or the keyed request. */
export type KeyCheck = { kind: 'none' } | { kind: 'invalid'; fieldError: FieldError } | { kind: 'keyed'; request: KeyedRequest };

/**
 * Checks the key a request carries (if any) and makes its keyed form: its scope in the
 * organisation, and the hash of `request` (what a replay must match).
 */
export function checkKey(orgId: string, idempotency: { operation: string; key: string } | undefined, request: unknown): KeyCheck {
  if (!idempotency) return { kind: 'none' };
  const fieldError = validateIdempotencyKey(idempotency.key);
  if (fieldError) return { kind: 'invalid', fieldError };
  return { kind: 'keyed', request: { scope: { orgId, ...idempotency }, hash: requestHash(request) } };
}

/** A key claimed by the caller's transaction; the only way to store a response under it. */
export class ClaimedKey {
  constructor(private readonly scope: IdempotencyScope) {}

  /**
   * The UPDATE storing the rendered response, to send with the write's other statements. The
   * body is kept as its JSON text (a jsonb string) so that a replay returns it byte for byte,
   * key order included.
   */
  store(response: StoredResponse): WriteStatement {
    const { orgId, operation, key } = this.scope;
    return WriteStatement.of(Prisma.sql`
      UPDATE idempotency_keys SET status = ${response.status}, response = to_jsonb(${JSON.stringify(response.body)}::text)
      WHERE org_id = ${orgId}::uuid AND operation = ${operation} AND key = ${key}`);
  }
}

/**
 * Ends the bounded wait: lock_timeout back to PostgreSQL's default (0, no limit; the gateway's
 * connections set none of their own), so that the work's own lock waits are not cut short.
 */
const END_OF_WAIT = Prisma.sql`set_config('lock_timeout', '0', true)`;

/**
 * Claims a key inside the caller's transaction, or answers with what it already holds. An
 * expired key counts as absent and is overwritten. While another transaction holds the same key
 * uncommitted, this waits at most `policy.waitMs` (PostgreSQL lock_timeout); past that it throws
 * PostgreSQL's lock-timeout error (classifyDatabaseError in db/errors.ts: `lock_timeout`).
 *
 * One round trip in the usual cases, and the wait ends with it:
 * - the lock_timeout is set by the insert's own input row, so before any wait on the key;
 * - it is ended by the statement's output row, which exists only once the insert has finished
 *   (waited, then claimed or found the key), so nothing after the claim is bounded by it;
 * - a live key's stored response is read by the same statement, from its snapshot, BEFORE the
 *   insert: a key found live there is not inserted at all. An INSERT … ON CONFLICT DO UPDATE
 *   row-locks the conflicting row even when its WHERE refuses the update, so replays of one key
 *   would otherwise queue on each other's row lock until each commits (measured: replay barely
 *   faster than a fresh upsert). A live key is only ever read (a claim overwrites expired keys
 *   only), so reading it without a lock is enough;
 * - a key held by a concurrent duplicate is not in that snapshot (uncommitted): the insert waits
 *   on it. When the duplicate committed during the wait, the statement finds nothing (and no
 *   output row ends the wait), and a second statement, with a fresh snapshot, reads it and ends
 *   the wait.
 */
export async function claimKey<Body>(tx: Tx, request: KeyedRequest, now: Date, policy: IdempotencyPolicy): Promise<Claim<Body>> {
  const { scope, hash } = request;
  const expiresAt = new Date(now.getTime() + policy.ttlHours * MS_PER_HOUR);
  // lock_timeout 0 would mean "forever"; the wait must stay bounded.
  const waitMs = `${Math.max(1, policy.waitMs)}ms`;
  const rows = await tx.$queryRaw<{ claimed: boolean; request_hash: string | null; status: number | null; body: string | null }[]>`
    WITH live AS (
      SELECT request_hash, status, response #>> '{}' AS body
      FROM idempotency_keys
      WHERE org_id = ${scope.orgId}::uuid AND operation = ${scope.operation} AND key = ${scope.key} AND expires_at > ${now}::timestamptz),
    ins AS (
      INSERT INTO idempotency_keys (org_id, operation, key, request_hash, status, response, created_at, expires_at)
      SELECT ${scope.orgId}::uuid, ${scope.operation}, ${scope.key}, ${hash}, 0, 'null'::jsonb, ${now}::timestamptz, ${expiresAt}::timestamptz
      FROM (SELECT set_config('lock_timeout', ${waitMs}, true)) AS bounded_wait
      WHERE NOT EXISTS (SELECT 1 FROM live)
      ON CONFLICT (org_id, operation, key) DO UPDATE
        SET request_hash = EXCLUDED.request_hash, status = 0, response = 'null'::jsonb,
            created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at
        WHERE idempotency_keys.expires_at <= EXCLUDED.created_at
      RETURNING 1),
    found AS (
      SELECT true AS claimed, NULL AS request_hash, NULL::int AS status, NULL AS body FROM ins
      UNION ALL
      SELECT false, request_hash, status, body FROM live)
    SELECT found.*, ${END_OF_WAIT} AS wait_ended FROM found`;
  if (rows.some((r) => r.claimed)) return { kind: 'claimed', key: new ClaimedKey(scope) };
  const row =
    rows[0] ??
    (
      await tx.$queryRaw<{ request_hash: string | null; status: number | null; body: string | null }[]>`
        SELECT request_hash, status, response #>> '{}' AS body, ${END_OF_WAIT} AS wait_ended
        FROM idempotency_keys
        WHERE org_id = ${scope.orgId}::uuid AND operation = ${scope.operation} AND key = ${scope.key}`
    )[0];
  // The conflicting row was live a statement ago and only the purge deletes (expired) rows.
  if (!row) throw new Error('idempotency key vanished between claim and read');
  if (row.request_hash !== hash) return { kind: 'conflict' };
  return { kind: 'replay', response: { status: Number(row.status), body: storedBody<Body>(row.body ?? 'null') } };
}

/**
 * A stored body, read back as the type it was rendered with. A key's scope names its operation,
 * each operation belongs to one surface, and that surface's render function wrote the body, so
 * the text holds a `Body` (plain JSON by StoredResponse's contract).
 */
function storedBody<Body>(text: string): Body {
  return JSON.parse(text) as Body;
}

/** Deletes keys whose 24 hours (configurable) are over; returns how many. */
export async function purgeExpiredKeys(prisma: PrismaClient, now: Date): Promise<number> {
  return prisma.$executeRaw`DELETE FROM idempotency_keys WHERE expires_at <= ${now}::timestamptz`;
}

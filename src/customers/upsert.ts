// The customer writes of integrators: upsert (SPEC section 4) and partial update (PATCH), with
// idempotency keys. Domain layer: no GraphQL or HTTP types; both surfaces call these directly.
//
// API for a surface (GraphQL resolver, REST handler):
//
//   const r = await upsertCustomer(services, {
//     orgId,                      // the caller's organisation (from its API key)
//     actor: keyActor(principal), // who is writing (recorded with the event; SPEC section 11)
//     input: body,                // the raw input (parsed JSON body / GraphQL input object)
//     idempotency: key === undefined ? undefined : { operation: 'POST /customers', key },
//     render: (result) => ({ status, body }),  // the surface's rendering of a WriteResult
//   });
//   const r = await updateCustomer(services, { orgId, actor, id, input, idempotency: { operation: `PATCH /customers/${id}`, key }, render });
//
//   r.kind === 'invalid'                  → bad input or bad key (every field at once); nothing ran, nothing stored (REST 422)
//   r.kind === 'idempotency_conflict'     → the key was used with a different input (REST 409)
//   r.kind === 'idempotency_in_progress'  → the key is held by a request still running after the bounded wait (REST 409, Retry-After: 1)
//   r.kind === 'done'                     → r.response is the rendered { status, body }; r.replayed tells whether it was
//                                           served from the key (REST header Idempotent-Replayed: true). r.result is the
//                                           domain result when the request ran now (absent on replay).
//
// `render` runs inside the write transaction and its output is what gets stored under the key,
// so a replay returns exactly what the first request returned (body byte for byte). Stored:
// every result of a request that ran (success, conflict, frozen-identity validation_failed,
// not_found). Not stored: invalid input, and any thrown error (the transaction rolls back, so
// a retry runs afresh). GraphQL uses the mutation field name as the operation; REST uses the
// method and route with its id.
//
// Concurrency: within the transaction the natural keys of the input (external id, email key)
// are serialised with transaction-scoped advisory locks taken in a fixed order, then the
// candidate rows are locked FOR UPDATE and read (one statement, after the locks). Row locks alone cannot work here: the
// racing requests of a "create" find no row to lock. The advisory lock covers that gap on
// every instance (it lives in PostgreSQL) and is released by commit or rollback, a crash
// included. The unique indexes stay the last line of defence: a unique violation,
// serialization failure or deadlock (e.g. two upserts locking the same two rows crosswise)
// retries the whole transaction a bounded number of times, so none reaches the caller.
import { randomUUID } from 'node:crypto';
import type { Tx } from '../db/client.js';
import { classifyDatabaseError, DatabaseErrorKind } from '../db/errors.js';
import type { Actor } from '../events/actor.js';
import { ACTOR_COLUMNS, actorValues, appendCustomerEvent, EVENTS_CHANNEL, type NewCustomerEvent } from '../events/outbox.js';
import { Prisma } from '../generated/prisma/client.js';
import {
  claimKey,
  RESET_LOCK_TIMEOUT,
  requestHash,
  storeResponse,
  storeResponseSql,
  validateIdempotencyKey,
  type IdempotencyScope,
  type StoredResponse,
} from '../idempotency/store.js';
import type { FieldError } from '../lib/error-codes.js';
import type { Services } from '../services.js';
import { normaliseEmail, toPublicCustomer, type Customer, type PublicCustomer } from './dto.js';
import { checkCustomerRef, findCustomerWhere } from './queries.js';
import { decidePatch, decideUpsert, isNoop, UpsertOutcome, type Decision } from './rules.js';
import { validatePatchInput, validateUpsertInput, type PatchInput, type UpsertInput } from './validation.js';

export { UpsertOutcome };
export type { StoredResponse };

/** What a write that ran produced; the surface renders it. */
export type WriteResult =
  | { kind: 'success'; outcome: UpsertOutcome; customer: PublicCustomer }
  /** The email belongs to another customer; nothing changed (REST 409 conflict, details.field). */
  | { kind: 'conflict'; field: 'email' }
  /** Frozen identity: a VERIFIED customer's name or email would change (REST 422). */
  | { kind: 'validation_failed'; fieldErrors: FieldError[] }
  /** updateCustomer only: no such customer in the organisation (REST 404). */
  | { kind: 'not_found' };

export type WriteResponse =
  | { kind: 'invalid'; fieldErrors: FieldError[] }
  | { kind: 'idempotency_conflict' }
  | { kind: 'idempotency_in_progress' }
  | { kind: 'done'; response: StoredResponse; replayed: boolean; result?: WriteResult };

export interface WriteRequest {
  orgId: string;
  /** Who is writing: recorded with the event the write appends. */
  actor: Actor;
  /** The raw input, validated here. Its canonical JSON is what idempotency compares. */
  input: unknown;
  /** Present when the caller sent a key; `operation` is the surface's operation name. */
  idempotency?: { operation: string; key: string } | undefined;
  /** Renders a result for storage and response; called inside the transaction. */
  render: (result: WriteResult) => StoredResponse;
}

export interface UpdateRequest extends WriteRequest {
  /** UUID or external id (told apart by shape). */
  id: string;
}

/** Attempts of one write when the database reports a retryable race (unique violation, deadlock, serialization). */
const MAX_ATTEMPTS = 5;

/** Upserts a customer by the match rules of SPEC section 4, idempotently when a key is given. */
export async function upsertCustomer(services: Services, req: WriteRequest): Promise<WriteResponse> {
  const checked = validateUpsertInput(req.input);
  const keyError = req.idempotency ? validateIdempotencyKey(req.idempotency.key) : null;
  if (!checked.ok || keyError) return invalid(checked.ok ? [] : checked.fieldErrors, keyError);
  const input = checked.value;
  return runWrite(services, req, requestHash(req.input), (tx, now, claimed) => upsertInTx(tx, req, input, now, claimed));
}

/** Partially updates a customer (fullName, email, phone, risk), idempotently when a key is given. */
export async function updateCustomer(services: Services, req: UpdateRequest): Promise<WriteResponse> {
  const ref = checkCustomerRef(req.id);
  const checked = validatePatchInput(req.input);
  const keyError = req.idempotency ? validateIdempotencyKey(req.idempotency.key) : null;
  const refErrors = ref.kind === 'invalid' ? [ref.fieldError] : [];
  if (!checked.ok || keyError || refErrors.length) return invalid([...refErrors, ...(checked.ok ? [] : checked.fieldErrors)], keyError);
  // An id longer than any id or external id names no customer: not found, without a statement
  // (and without storing it under the key, which would not fit the operation column either).
  if (ref.kind === 'none')
    return { kind: 'done', response: req.render({ kind: 'not_found' }), replayed: false, result: { kind: 'not_found' } };
  const input = checked.value;
  // The id is part of the compared request: GraphQL's operation name does not contain it.
  return runWrite(services, req, requestHash({ id: req.id, input: req.input }), (tx, now, claimed) =>
    patchInTx(tx, req, input, now, claimed),
  );
}

function invalid(fieldErrors: FieldError[], keyError: FieldError | null): WriteResponse {
  return { kind: 'invalid', fieldErrors: keyError ? [...fieldErrors, keyError] : fieldErrors };
}

/** What the work of a write did, and the event it owes (appended with the stored response). */
interface Applied {
  result: WriteResult;
  event?: NewCustomerEvent | undefined;
  /** A created customer not inserted yet: it travels with its event (see insertCustomerWithEvent). */
  insert?: Customer | undefined;
}

/**
 * One write transaction: claim the key, do the work, render, then append the event and store
 * the response in one statement; retried on races. `claimed` tells the work that claimKey left
 * its bounded lock_timeout set (its first statement resets it).
 */
async function runWrite(
  services: Services,
  req: WriteRequest,
  hash: string,
  work: (tx: Tx, now: Date, claimed: boolean) => Promise<Applied>,
): Promise<WriteResponse> {
  const { config } = services;
  const scope: IdempotencyScope | undefined = req.idempotency && { orgId: req.orgId, ...req.idempotency };
  for (let attempt = 1; ; attempt++) {
    try {
      return await services.db.prisma.$transaction(
        async (tx): Promise<WriteResponse> => {
          const now = services.now();
          if (scope) {
            const claim = await claimKey(tx, scope, hash, now, config.idempotencyTtlHours, config.idempotencyWaitMs);
            if (claim.kind === 'stored') {
              return claim.requestHash === hash
                ? { kind: 'done', response: claim.response, replayed: true }
                : { kind: 'idempotency_conflict' };
            }
          }
          const { result, event, insert } = await work(tx, now, scope !== undefined);
          const response = req.render(result);
          // Round trips are the cost of a write: the event, its NOTIFY and the stored response
          // travel together (with the customer itself when it is new).
          const alongside = scope && storeResponseSql(scope, response);
          if (insert) await insertCustomerWithEvent(tx, insert, req.actor, alongside);
          else if (event) await appendCustomerEvent(tx, event, alongside);
          else if (scope) await storeResponse(tx, scope, response);
          await services.testHooks.insideWriteTransaction?.(tx);
          return { kind: 'done', response, replayed: false, result };
        },
        // Waiting for a pooled connection and for a key held by a duplicate are both bounded.
        { maxWait: config.idempotencyWaitMs + 10_000, timeout: config.idempotencyWaitMs + 15_000 },
      );
    } catch (error) {
      const failure = classifyDatabaseError(error);
      // Only claimKey bounds a lock wait; a lock timeout means a duplicate still holds the key.
      if (scope && failure.kind === DatabaseErrorKind.LockTimeout) return { kind: 'idempotency_in_progress' };
      // A lost connection is not retried here: its transaction may have committed (08007), so
      // the caller gets 503 and retries with its idempotency key, which makes that safe.
      if (attempt < MAX_ATTEMPTS && failure.kind === DatabaseErrorKind.RetryableRace) {
        services.log.debug({ attempt, code: failure.code }, 'write race, retrying');
        await new Promise((r) => setTimeout(r, Math.random() * 10 * attempt));
        continue;
      }
      throw error;
    }
  }
}

/**
 * Serialises requests on the same natural keys (external id, email) across every instance, in
 * one statement. Also ends claimKey's bounded lock_timeout when `claimed` (the subquery is
 * evaluated before the first lock is requested, since every joined row needs it).
 */
async function lockNaturalKeys(tx: Tx, orgId: string, keys: string[], claimed: boolean): Promise<void> {
  if (keys.length === 0) {
    if (claimed) await tx.$queryRaw`SELECT ${RESET_LOCK_TIMEOUT}`;
    return;
  }
  // A fixed order (sorted; unnest keeps array order) so that two transactions never wait on
  // each other crosswise.
  const sorted = [...new Set(keys)].sort().map((key) => `customer|${orgId}|${key}`);
  const reset = claimed ? RESET_LOCK_TIMEOUT : Prisma.sql`NULL::text`;
  await tx.$queryRaw`
    SELECT count(pg_advisory_xact_lock(hashtextextended(k, 0))) AS locked
    FROM (SELECT ${reset} AS reset) AS first_reset, unnest(${sorted}::text[]) AS k`;
}

/** Every column of a customer, named like the Prisma model (for raw reads of whole rows). */
const CUSTOMER_COLUMNS = Prisma.raw(
  `id, org_id AS "orgId", external_id AS "externalId", type::text AS type, full_name AS "fullName", email, email_key AS "emailKey",
   phone, risk_is_new_customer AS "riskIsNewCustomer", risk_is_designated_service AS "riskIsDesignatedService",
   risk_handles_cash_or_crypto AS "riskHandlesCashOrCrypto", kyc_status::text AS "kycStatus", kyc_started_at AS "kycStartedAt",
   kyc_completed_at AS "kycCompletedAt", verified_legal_name AS "verifiedLegalName", verified_country AS "verifiedCountry",
   aml_status::text AS "amlStatus", aml_screened_at AS "amlScreenedAt", aml_last_reviewed_at AS "amlLastReviewedAt",
   aml_pep AS "amlPep", aml_sanctions AS "amlSanctions", aml_adverse_media AS "amlAdverseMedia", aml_terrorism AS "amlTerrorism",
   added_via::text AS "addedVia", created_at AS "createdAt", updated_at AS "updatedAt"`,
);

async function upsertInTx(tx: Tx, { orgId, actor }: WriteRequest, input: UpsertInput, now: Date, claimed: boolean): Promise<Applied> {
  const emailKey = normaliseEmail(input.email);
  await lockNaturalKeys(tx, orgId, [`email:${emailKey}`, ...(input.externalId !== undefined ? [`ext:${input.externalId}`] : [])], claimed);
  // Row locks too (status moves of the back office do not take the advisory locks), and the
  // candidates read by the same statement, after the advisory locks: its snapshot sees every
  // record committed by a request that held them.
  const candidates = await tx.$queryRaw<Customer[]>`
    SELECT ${CUSTOMER_COLUMNS} FROM customers
    WHERE org_id = ${orgId}::uuid AND (email_key = ${emailKey} OR external_id = ${input.externalId ?? null})
    FOR UPDATE`;
  const byExternalId = input.externalId !== undefined ? (candidates.find((c) => c.externalId === input.externalId) ?? null) : null;
  const byEmail = candidates.find((c) => c.emailKey === emailKey) ?? null;
  return apply(tx, orgId, actor, decideUpsert(input, { byExternalId, byEmail }), now);
}

async function patchInTx(tx: Tx, { orgId, actor, id }: UpdateRequest, input: PatchInput, now: Date, claimed: boolean): Promise<Applied> {
  const emailKey = input.email !== undefined ? normaliseEmail(input.email) : undefined;
  await lockNaturalKeys(tx, orgId, emailKey !== undefined ? [`email:${emailKey}`] : [], claimed);
  const found = await tx.customer.findFirst({ where: findCustomerWhere(orgId, id), select: { id: true } });
  if (!found) return { result: { kind: 'not_found' } };
  await tx.$executeRaw`SELECT 1 FROM customers WHERE id = ${found.id}::uuid FOR UPDATE`;
  const [target, emailOwner] = await Promise.all([
    tx.customer.findUnique({ where: { id: found.id } }),
    emailKey !== undefined ? tx.customer.findUnique({ where: { orgId_emailKey: { orgId, emailKey } } }) : null,
  ]);
  if (!target) return { result: { kind: 'not_found' } };
  return apply(tx, orgId, actor, decidePatch(target, input, emailOwner), now);
}

/** Applies a decision: the write in the caller's transaction; its event is returned, owed. */
async function apply(tx: Tx, orgId: string, actor: Actor, decision: Decision, now: Date): Promise<Applied> {
  switch (decision.kind) {
    case 'conflict':
      return { result: { kind: 'conflict', field: decision.field } };
    case 'invalid':
      return { result: { kind: 'validation_failed', fieldErrors: decision.fieldErrors } };
    case 'create': {
      // Every column of a new customer is known here (statuses and flags start at their
      // initial values), so the row is inserted later, together with its event.
      const row: Customer = { ...INITIAL_STATUS, ...decision.data, id: randomUUID(), orgId, createdAt: now, updatedAt: now };
      return { result: success(UpsertOutcome.Created, row), insert: row };
    }
    case 'update': {
      // Nothing differs: no write, no event, updatedAt kept (a CRM re-sending the same record
      // does not churn `updated_since` pollers or the event log).
      if (isNoop(decision)) return { result: success(decision.outcome, decision.target) };
      const row = await tx.customer.update({
        where: { id: decision.target.id },
        data: { ...decision.changes, updatedAt: laterThan(decision.target.updatedAt, now) },
      });
      return { result: success(decision.outcome, row), event: { kind: decision.outcome, customer: row, actor } };
    }
  }
}

/** The lifecycle columns of a customer that has just been created (SPEC section 3). */
const INITIAL_STATUS = {
  kycStatus: 'NOT_STARTED',
  kycStartedAt: null,
  kycCompletedAt: null,
  verifiedLegalName: null,
  verifiedCountry: null,
  amlStatus: 'NOT_SCREENED',
  amlScreenedAt: null,
  amlLastReviewedAt: null,
  amlPep: false,
  amlSanctions: false,
  amlAdverseMedia: false,
  amlTerrorism: false,
} as const satisfies Partial<Customer>;

/**
 * Inserts a new customer, its CREATED event (snapshot of `row`) and its NOTIFY, plus
 * `alongside`, in one statement. Every column is written from `row`, so what the caller rendered
 * from `row` is what is stored; the event is inserted from the customer's RETURNING, so the
 * foreign key always finds its row. A unique violation (a racing create) surfaces here, and the
 * transaction is retried like any other race.
 */
async function insertCustomerWithEvent(tx: Tx, row: Customer, actor: Actor, alongside?: Prisma.Sql): Promise<void> {
  await tx.$executeRaw`
    WITH c AS (
      INSERT INTO customers (id, org_id, external_id, type, full_name, email, email_key, phone,
        risk_is_new_customer, risk_is_designated_service, risk_handles_cash_or_crypto,
        kyc_status, kyc_started_at, kyc_completed_at, verified_legal_name, verified_country,
        aml_status, aml_screened_at, aml_last_reviewed_at, aml_pep, aml_sanctions, aml_adverse_media, aml_terrorism,
        added_via, created_at, updated_at)
      VALUES (${row.id}::uuid, ${row.orgId}::uuid, ${row.externalId}, ${row.type}::text::"CustomerType", ${row.fullName}, ${row.email}, ${row.emailKey}, ${row.phone},
        ${row.riskIsNewCustomer}, ${row.riskIsDesignatedService}, ${row.riskHandlesCashOrCrypto},
        ${row.kycStatus}::text::"KycStatus", ${row.kycStartedAt}::timestamptz, ${row.kycCompletedAt}::timestamptz, ${row.verifiedLegalName}, ${row.verifiedCountry},
        ${row.amlStatus}::text::"AmlStatus", ${row.amlScreenedAt}::timestamptz, ${row.amlLastReviewedAt}::timestamptz, ${row.amlPep}, ${row.amlSanctions}, ${row.amlAdverseMedia}, ${row.amlTerrorism},
        ${row.addedVia}::text::"AddedVia", ${row.createdAt}::timestamptz, ${row.updatedAt}::timestamptz)
      RETURNING id, org_id),
    e AS (
      INSERT INTO customer_events (org_id, customer_id, kind, snapshot, ${ACTOR_COLUMNS})
      SELECT org_id, id, ${UpsertOutcome.Created}::text::"CustomerEventKind", ${JSON.stringify(toPublicCustomer(row))}::jsonb, ${actorValues(actor)} FROM c
      RETURNING org_id)${alongside ? Prisma.sql`, alongside AS (${alongside})` : Prisma.empty}
    SELECT pg_notify(${EVENTS_CHANNEL}, org_id::text) FROM e`;
}

/** updatedAt must change on every write, even with a clock that stands still or lags another instance's. */
function laterThan(previous: Date, now: Date): Date {
  return now.getTime() > previous.getTime() ? now : new Date(previous.getTime() + 1);
}

function success(outcome: UpsertOutcome, row: Customer): WriteResult {
  return { kind: 'success', outcome, customer: toPublicCustomer(row) };
}

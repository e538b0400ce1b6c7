// The customer writes of integrators: upsert (SPEC section 4) and partial update (PATCH), with
// idempotency keys. Domain layer: no GraphQL or HTTP types; both surfaces call these directly.
//
// API for a surface (GraphQL resolver, REST handler):
//
//   const r = await upsertCustomer(services, {
//     orgId,                      // the caller's organisation (from its API key)
//     input: body,                // the raw input (parsed JSON body / GraphQL input object)
//     idempotency: key === undefined ? undefined : { operation: 'POST /customers', key },
//     render: (result) => ({ status, body }),  // the surface's rendering of a WriteResult
//   });
//   const r = await updateCustomer(services, { orgId, id, input, idempotency: { operation: `PATCH /customers/${id}`, key }, render });
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
// candidate rows are locked FOR UPDATE and re-read. Row locks alone cannot work here: the
// racing requests of a "create" find no row to lock. The advisory lock covers that gap on
// every instance (it lives in PostgreSQL) and is released by commit or rollback, a crash
// included. The unique indexes stay the last line of defence: a unique violation,
// serialization failure or deadlock (e.g. two upserts locking the same two rows crosswise)
// retries the whole transaction a bounded number of times, so none reaches the caller.
import type { Tx } from '../db/client.js';
import { appendCustomerEvent } from '../events/outbox.js';
import {
  claimKey,
  databaseErrorCodes,
  isLockTimeout,
  requestHash,
  storeResponse,
  validateIdempotencyKey,
  type IdempotencyScope,
  type StoredResponse,
} from '../idempotency/store.js';
import type { FieldError } from '../lib/error-codes.js';
import type { Services } from '../services.js';
import { normaliseEmail, toPublicCustomer, type Customer, type PublicCustomer } from './dto.js';
import { findCustomerWhere } from './queries.js';
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
const RETRYABLE = new Set(['P2002', 'P2034', '23505', '40001', '40P01', 'UniqueConstraintViolation', 'TransactionWriteConflict']);

/** Upserts a customer by the match rules of SPEC section 4, idempotently when a key is given. */
export async function upsertCustomer(services: Services, req: WriteRequest): Promise<WriteResponse> {
  const checked = validateUpsertInput(req.input);
  const keyError = req.idempotency ? validateIdempotencyKey(req.idempotency.key) : null;
  if (!checked.ok || keyError) return invalid(checked.ok ? [] : checked.fieldErrors, keyError);
  const input = checked.value;
  return runWrite(services, req, requestHash(req.input), (tx, now) => upsertInTx(tx, req.orgId, input, now));
}

/** Partially updates a customer (fullName, email, phone, risk), idempotently when a key is given. */
export async function updateCustomer(services: Services, req: UpdateRequest): Promise<WriteResponse> {
  const checked = validatePatchInput(req.input);
  const keyError = req.idempotency ? validateIdempotencyKey(req.idempotency.key) : null;
  if (!checked.ok || keyError) return invalid(checked.ok ? [] : checked.fieldErrors, keyError);
  const input = checked.value;
  // The id is part of the compared request: GraphQL's operation name does not contain it.
  return runWrite(services, req, requestHash({ id: req.id, input: req.input }), (tx, now) => patchInTx(tx, req.orgId, req.id, input, now));
}

function invalid(fieldErrors: FieldError[], keyError: FieldError | null): WriteResponse {
  return { kind: 'invalid', fieldErrors: keyError ? [...fieldErrors, keyError] : fieldErrors };
}

/** One write transaction: claim the key, do the work, render and store; retried on races. */
async function runWrite(
  services: Services,
  req: WriteRequest,
  hash: string,
  work: (tx: Tx, now: Date) => Promise<WriteResult>,
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
          const result = await work(tx, now);
          const response = req.render(result);
          if (scope) await storeResponse(tx, scope, response);
          await services.testHooks.insideWriteTransaction?.(tx);
          return { kind: 'done', response, replayed: false, result };
        },
        // Waiting for a pooled connection and for a key held by a duplicate are both bounded.
        { maxWait: config.idempotencyWaitMs + 10_000, timeout: config.idempotencyWaitMs + 15_000 },
      );
    } catch (error) {
      if (scope && isLockTimeout(error)) return { kind: 'idempotency_in_progress' };
      const codes = databaseErrorCodes(error);
      if (attempt < MAX_ATTEMPTS && [...codes].some((c) => RETRYABLE.has(c))) {
        services.log.debug('write race, retrying', { attempt, codes: [...codes] });
        await new Promise((r) => setTimeout(r, Math.random() * 10 * attempt));
        continue;
      }
      throw error;
    }
  }
}

/** Serialises requests on the same natural keys (external id, email) across every instance. */
async function lockNaturalKeys(tx: Tx, orgId: string, keys: string[]): Promise<void> {
  // A fixed order (sorted) so that two transactions never wait on each other crosswise.
  for (const key of [...new Set(keys)].sort()) {
    await tx.$executeRaw`SELECT 1 FROM pg_advisory_xact_lock(hashtextextended(${`customer|${orgId}|${key}`}, 0))`;
  }
}

async function upsertInTx(tx: Tx, orgId: string, input: UpsertInput, now: Date): Promise<WriteResult> {
  const emailKey = normaliseEmail(input.email);
  await lockNaturalKeys(tx, orgId, [`email:${emailKey}`, ...(input.externalId !== undefined ? [`ext:${input.externalId}`] : [])]);
  // Row locks too: status moves (back office) do not take the advisory locks.
  await tx.$executeRaw`
    SELECT 1 FROM customers
    WHERE org_id = ${orgId}::uuid AND (email_key = ${emailKey} OR external_id = ${input.externalId ?? null})
    FOR UPDATE`;
  const [byExternalId, byEmail] = await Promise.all([
    input.externalId !== undefined ? tx.customer.findUnique({ where: { orgId_externalId: { orgId, externalId: input.externalId } } }) : null,
    tx.customer.findUnique({ where: { orgId_emailKey: { orgId, emailKey } } }),
  ]);
  return apply(tx, orgId, decideUpsert(input, { byExternalId, byEmail }), now);
}

async function patchInTx(tx: Tx, orgId: string, id: string, input: PatchInput, now: Date): Promise<WriteResult> {
  const emailKey = input.email !== undefined ? normaliseEmail(input.email) : undefined;
  if (emailKey !== undefined) await lockNaturalKeys(tx, orgId, [`email:${emailKey}`]);
  const found = await tx.customer.findFirst({ where: findCustomerWhere(orgId, id), select: { id: true } });
  if (!found) return { kind: 'not_found' };
  await tx.$executeRaw`SELECT 1 FROM customers WHERE id = ${found.id}::uuid FOR UPDATE`;
  const [target, emailOwner] = await Promise.all([
    tx.customer.findUnique({ where: { id: found.id } }),
    emailKey !== undefined ? tx.customer.findUnique({ where: { orgId_emailKey: { orgId, emailKey } } }) : null,
  ]);
  if (!target) return { kind: 'not_found' };
  return apply(tx, orgId, decidePatch(target, input, emailOwner), now);
}

/** Applies a decision: the write and its event in the caller's transaction. */
async function apply(tx: Tx, orgId: string, decision: Decision, now: Date): Promise<WriteResult> {
  switch (decision.kind) {
    case 'conflict':
      return { kind: 'conflict', field: decision.field };
    case 'invalid':
      return { kind: 'validation_failed', fieldErrors: decision.fieldErrors };
    case 'create': {
      const row = await tx.customer.create({ data: { ...decision.data, orgId, createdAt: now, updatedAt: now } });
      await appendCustomerEvent(tx, { kind: UpsertOutcome.Created, customer: row });
      return success(UpsertOutcome.Created, row);
    }
    case 'update': {
      // Nothing differs: no write, no event, updatedAt kept (a CRM re-sending the same record
      // does not churn `updated_since` pollers or the event log).
      if (isNoop(decision)) return success(decision.outcome, decision.target);
      const row = await tx.customer.update({
        where: { id: decision.target.id },
        data: { ...decision.changes, updatedAt: laterThan(decision.target.updatedAt, now) },
      });
      await appendCustomerEvent(tx, { kind: decision.outcome, customer: row });
      return success(decision.outcome, row);
    }
  }
}

/** updatedAt must change on every write, even with a clock that stands still or lags another instance's. */
function laterThan(previous: Date, now: Date): Date {
  return now.getTime() > previous.getTime() ? now : new Date(previous.getTime() + 1);
}

function success(outcome: UpsertOutcome, row: Customer): WriteResult {
  return { kind: 'success', outcome, customer: toPublicCustomer(row) };
}

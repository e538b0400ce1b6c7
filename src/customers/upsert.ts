// The customer writes of integrators: upsert (SPEC section 4) and partial update (PATCH), with
// idempotency keys. Domain layer: no GraphQL or HTTP types; both surfaces call these directly.
//
// API for a surface (GraphQL resolver, REST handler):
//
//   const r = await upsertCustomer(services, {    // anything with the shape of CustomerWriteDeps
//     orgId,                      // the caller's organisation (from its API key)
//     actor: keyActor(principal), // who is writing (recorded with the event; SPEC section 11)
//     input: body,                // the raw input (parsed JSON body / GraphQL input object)
//     idempotency: key === undefined ? undefined : { operation: 'POST /customers', key },
//     render: (result) => ({ status, body }),  // the surface's rendering of a WriteResult, stored under the key
//   });
//   const r = await updateCustomer(services, { orgId, actor, id, input, idempotency: { operation: `PATCH /customers/${id}`, key }, render });
//
//   r.kind === 'invalid'                  → bad input or bad key (every field at once); nothing ran, nothing stored (REST 422)
//   r.kind === 'idempotency_conflict'     → the key was used with a different input (REST 409)
//   r.kind === 'idempotency_in_progress'  → the key is held by a request still running after the bounded wait (REST 409, Retry-After: 1)
//   r.kind === 'ran'                      → the write ran now: r.result is what it did, r.response its rendering
//   r.kind === 'replayed'                 → served from the key: r.response is what the first request rendered
//                                           (REST header Idempotent-Replayed: true); nothing was written
//
// `render` runs inside the write transaction and its output is what gets stored under the key,
// so a replay returns exactly what the first request returned (body byte for byte). Stored:
// every result of a request that ran (success, conflict, frozen identity, not_found). Not
// stored: invalid input, and any thrown error (the transaction rolls back, so a retry runs
// afresh). GraphQL uses the mutation field name as the operation; REST the method and route
// with its id.
//
// One transaction, one statement per step (the round trips are the cost of a write):
//   claim the key → lock the natural keys → lock and read the candidates → the write, its
//   event, the NOTIFY and the stored response together → commit.
// Concurrency: the natural keys of the input (external id, email key) are serialised with
// transaction-scoped advisory locks taken in a fixed order, then the candidate rows are locked
// FOR UPDATE and read by the next statement. Row locks alone cannot work here: the racing
// requests of a "create" find no row to lock. The advisory lock covers that gap on every
// instance (it lives in PostgreSQL) and is released by commit or rollback, a crash included.
// The unique indexes stay the last line of defence: a unique violation, serialization failure
// or deadlock (e.g. two upserts locking the same two rows crosswise) retries the whole
// transaction a bounded number of times, so none reaches the caller.
import { randomUUID } from 'node:crypto';
import type { Config } from '../config.js';
import type { Database, Tx } from '../db/client.js';
import { classifyDatabaseError, DatabaseErrorKind } from '../db/errors.js';
import { sendTogether } from '../db/write-statements.js';
import type { Actor } from '../events/actor.js';
import { appendCustomerEvent } from '../events/outbox.js';
import { checkKey, claimKey, type ClaimedKey, type KeyCheck, type StoredResponse } from '../idempotency/store.js';
import { MS_PER_SECOND } from '../lib/duration.js';
import type { FieldError } from '../lib/error-codes.js';
import type { Logger } from '../ops/logger.js';
import { checkCustomerRef, matchRef, pickRef } from './queries.js';
import {
  INITIAL_STATUS,
  insertCustomer,
  lockCustomers,
  normaliseEmail,
  updateCustomer as updateRow,
  type Customer,
  type CustomerMatch,
  type RowWrite,
} from './row.js';
import { decidePatch, decideUpsert, isNoop, UpsertOutcome, type Decision } from './rules.js';
import { validatePatchInput, validateUpsertInput } from './validation.js';

export { UpsertOutcome };
export type { StoredResponse };

/** What a write that ran did; the surface renders it. */
export type WriteResult =
  | { kind: 'success'; outcome: UpsertOutcome; customer: Customer }
  /** The email belongs to another customer; nothing changed (REST 409 conflict, details.field). */
  | { kind: 'conflict'; field: 'email' }
  /** Frozen identity: a VERIFIED customer's name or email would change; nothing changed (REST 422 validation_failed). */
  | { kind: 'frozen'; fieldErrors: FieldError[] }
  /** updateCustomer only: no such customer in the organisation (REST 404). */
  | { kind: 'not_found' };

export type WriteResponse<Body> =
  | { kind: 'invalid'; fieldErrors: FieldError[] }
  | { kind: 'idempotency_conflict' }
  | { kind: 'idempotency_in_progress' }
  | { kind: 'ran'; result: WriteResult; response: StoredResponse<Body> }
  | { kind: 'replayed'; response: StoredResponse<Body> };

export interface WriteRequest<Body> {
  orgId: string;
  /** Who is writing: recorded with the event the write appends. */
  actor: Actor;
  /** The raw input, validated here. Its canonical JSON is what idempotency compares. */
  input: unknown;
  /** Present when the caller sent a key; `operation` is the surface's operation name. */
  idempotency?: { operation: string; key: string } | undefined;
  /** Renders a result for storage and response (plain JSON); called inside the transaction. */
  render: (result: WriteResult) => StoredResponse<Body>;
}

export interface UpdateRequest<Body> extends WriteRequest<Body> {
  /** UUID or external id (told apart by shape). */
  id: string;
}

/** What the writes report for metrics (SPEC section 12). Optional: an instance wires it. */
export interface WriteMonitor {
  /** A write was answered, and how (a replay, an idempotency conflict, a run…). */
  answered(operation: 'upsert' | 'update', kind: WriteResponse<unknown>['kind']): void;
  /** A race (unique violation, deadlock, serialization failure) made a write run again. */
  retried(operation: 'upsert' | 'update', attempt: number): void;
}

/** What the writes use of an instance (`Services` has this shape). */
export interface CustomerWriteDeps {
  readonly db: Pick<Database, 'transaction'>;
  readonly config: Pick<Config, 'idempotencyTtlHours' | 'idempotencyWaitMs'>;
  /** The clock of every rule that depends on time. */
  readonly now: () => Date;
  readonly log: Pick<Logger, 'debug'>;
  /** Tests only: runs inside a write transaction just before it commits. */
  readonly testHooks: { insideWriteTransaction?: ((tx: Tx) => Promise<void>) | undefined };
  readonly writeMonitor?: WriteMonitor | undefined;
}

/** Attempts of one write when the database reports a retryable race (unique violation, deadlock, serialization). */
const MAX_ATTEMPTS = 5;
/**
 * Beyond the bounded wait on a key: how long a write transaction may last. (Waiting for a pooled
 * connection is bounded by the pool: DATABASE_CONNECT_TIMEOUT_MS.)
 */
const TRANSACTION_MS = 15 * MS_PER_SECOND;

/** Upserts a customer by the match rules of SPEC section 4, idempotently when a key is given. */
export async function upsertCustomer<Body>(deps: CustomerWriteDeps, req: WriteRequest<Body>): Promise<WriteResponse<Body>> {
  return reported(deps, 'upsert', await upsert(deps, req));
}

/** Partially updates a customer (fullName, email, phone, risk), idempotently when a key is given. */
export async function updateCustomer<Body>(deps: CustomerWriteDeps, req: UpdateRequest<Body>): Promise<WriteResponse<Body>> {
  return reported(deps, 'update', await update(deps, req));
}

function reported<Body>(deps: CustomerWriteDeps, operation: 'upsert' | 'update', response: WriteResponse<Body>): WriteResponse<Body> {
  deps.writeMonitor?.answered(operation, response.kind);
  return response;
}

async function upsert<Body>(deps: CustomerWriteDeps, req: WriteRequest<Body>): Promise<WriteResponse<Body>> {
  const checked = validateUpsertInput(req.input);
  const key = checkKey(req.orgId, req.idempotency, req.input);
  if (!checked.ok || key.kind === 'invalid') return invalid(checked.ok ? [] : checked.fieldErrors, key);
  const input = checked.value;
  const emailKey = normaliseEmail(input.email);
  const externalIds = input.externalId !== undefined ? [input.externalId] : [];
  return runWrite(deps, 'upsert', req, key, {
    naturalKeys: [`email:${emailKey}`, ...externalIds.map((id) => `ext:${id}`)],
    candidates: { emailKeys: [emailKey], externalIds },
    decide: (customers) =>
      decideUpsert(input, {
        byExternalId: input.externalId !== undefined ? (customers.find((c) => c.externalId === input.externalId) ?? null) : null,
        byEmail: customers.find((c) => c.emailKey === emailKey) ?? null,
      }),
  });
}

async function update<Body>(deps: CustomerWriteDeps, req: UpdateRequest<Body>): Promise<WriteResponse<Body>> {
  const ref = checkCustomerRef(req.id);
  const checked = validatePatchInput(req.input);
  // The id is part of the compared request: GraphQL's operation name does not contain it.
  const key = checkKey(req.orgId, req.idempotency, { id: req.id, input: req.input });
  if (ref.kind === 'invalid' || !checked.ok || key.kind === 'invalid') {
    return invalid([...(ref.kind === 'invalid' ? [ref.fieldError] : []), ...(checked.ok ? [] : checked.fieldErrors)], key);
  }
  // An id longer than any id or external id names no customer: not found, without a statement
  // (and without storing it under the key, which would not fit the operation column either).
  if (ref.kind === 'none') {
    const result: WriteResult = { kind: 'not_found' };
    return { kind: 'ran', result, response: req.render(result) };
  }
  const input = checked.value;
  const emailKey = input.email !== undefined ? normaliseEmail(input.email) : undefined;
  const emailKeys = emailKey !== undefined ? [emailKey] : [];
  return runWrite(deps, 'update', req, key, {
    naturalKeys: emailKeys.map((key) => `email:${key}`),
    candidates: { ...matchRef(ref.ref), emailKeys },
    decide: (customers) => {
      const target = pickRef(customers, ref.ref);
      if (!target) return { kind: 'not_found' };
      return decidePatch(target, input, emailKey !== undefined ? (customers.find((c) => c.emailKey === emailKey) ?? null) : null);
    },
  });
}

function invalid(fieldErrors: FieldError[], key: KeyCheck): WriteResponse<never> {
  return { kind: 'invalid', fieldErrors: key.kind === 'invalid' ? [...fieldErrors, key.fieldError] : fieldErrors };
}

/** What a write does once its key is claimed: which natural keys it serialises on, which customers it reads, how it decides. */
interface WritePlan {
  /** Advisory locks, taken before anything is read. */
  naturalKeys: string[];
  /** The customers to lock and read (after the advisory locks). */
  candidates: CustomerMatch;
  /** The match rules over the customers read. Pure. */
  decide: (customers: Customer[]) => Decision | { kind: 'not_found' };
}

/**
 * One write transaction: claim the key, lock, read, decide, then send the write, its event and
 * the stored response in one statement; retried on races.
 */
async function runWrite<Body>(
  deps: CustomerWriteDeps,
  operation: 'upsert' | 'update',
  req: WriteRequest<Body>,
  key: KeyCheck,
  plan: WritePlan,
): Promise<WriteResponse<Body>> {
  const { config } = deps;
  const keyed = key.kind === 'keyed' ? key.request : undefined;
  const policy = { ttlHours: config.idempotencyTtlHours, waitMs: config.idempotencyWaitMs };
  for (let attempt = 1; ; attempt++) {
    try {
      // On the connection beneath Prisma: a write is raw statements only, and Prisma's per-call
      // runtime was a large share of its CPU (db/transaction.ts).
      return await deps.db.transaction(
        async (tx): Promise<WriteResponse<Body>> => {
          const now = deps.now();
          let claimed: ClaimedKey | undefined;
          if (keyed) {
            const claim = await claimKey<Body>(tx, keyed, now, policy);
            if (claim.kind === 'replay') return { kind: 'replayed', response: claim.response };
            if (claim.kind === 'conflict') return { kind: 'idempotency_conflict' };
            claimed = claim.key;
          }
          await lockNaturalKeys(tx, req.orgId, plan.naturalKeys);
          const decided = plan.decide(await lockCustomers(tx, req.orgId, plan.candidates));
          const { result, write } = apply(decided, req.orgId, now);
          const response = req.render(result);
          const stored = claimed ? [claimed.store(response)] : [];
          if (write) {
            const event = { kind: write.outcome, customer: write.row.after, actor: req.actor };
            await appendCustomerEvent(tx, event, [write.row.statement, ...stored]);
          } else if (stored.length > 0) {
            await sendTogether(tx, stored);
          }
          await deps.testHooks.insideWriteTransaction?.(tx);
          return { kind: 'ran', result, response };
        },
        // Waiting for a key held by a duplicate is bounded, and so is the whole transaction.
        { timeoutMs: config.idempotencyWaitMs + TRANSACTION_MS },
      );
    } catch (error) {
      const failure = classifyDatabaseError(error);
      // Only the key's claim bounds a lock wait; a lock timeout means a duplicate still holds the key.
      if (keyed && failure.kind === DatabaseErrorKind.LockTimeout) return { kind: 'idempotency_in_progress' };
      // A lost connection is not retried here: its transaction may have committed (08007), so
      // the caller gets 503 and retries with its idempotency key, which makes that safe.
      if (attempt < MAX_ATTEMPTS && failure.kind === DatabaseErrorKind.RetryableRace) {
        deps.log.debug({ attempt, code: failure.code }, 'write race, retrying');
        deps.writeMonitor?.retried(operation, attempt);
        await new Promise((r) => setTimeout(r, Math.random() * 10 * attempt));
        continue;
      }
      throw error;
    }
  }
}

/** Serialises requests on the same natural keys (external id, email) across every instance, in one statement. */
async function lockNaturalKeys(tx: Tx, orgId: string, keys: string[]): Promise<void> {
  if (keys.length === 0) return;
  // A fixed order (sorted; unnest keeps array order) so that two transactions never wait on
  // each other crosswise.
  const sorted = [...new Set(keys)].sort().map((key) => `customer|${orgId}|${key}`);
  await tx.$queryRaw`SELECT count(pg_advisory_xact_lock(hashtextextended(k, 0))) AS locked FROM unnest(${sorted}::text[]) AS k`;
}

/** A decision applied: the result to render, and the row write it owes with its event's kind (none for a refusal or a no-op). */
interface Applied {
  result: WriteResult;
  write?: { outcome: UpsertOutcome; row: RowWrite };
}

/** Turns a decision into its result and its row write. Pure: the statement is sent by runWrite. */
function apply(decision: Decision | { kind: 'not_found' }, orgId: string, now: Date): Applied {
  switch (decision.kind) {
    case 'not_found':
    case 'conflict':
    case 'frozen':
      return { result: decision };
    case 'create': {
      // Every column of a new customer is known here (statuses and flags start at their
      // initial values), so the row is inserted with its event, in one statement.
      const row = insertCustomer({ ...INITIAL_STATUS, ...decision.data, id: randomUUID(), orgId, createdAt: now, updatedAt: now });
      return { result: success(UpsertOutcome.Created, row.after), write: { outcome: UpsertOutcome.Created, row } };
    }
    case 'update': {
      // Nothing differs: no write, no event, updatedAt kept (a CRM re-sending the same record
      // does not churn `updated_since` pollers or the event log).
      if (isNoop(decision)) return { result: success(decision.outcome, decision.target) };
      const row = updateRow(decision.target, decision.changes, now);
      return { result: success(decision.outcome, row.after), write: { outcome: decision.outcome, row } };
    }
  }
}

function success(outcome: UpsertOutcome, customer: Customer): WriteResult {
  return { kind: 'success', outcome, customer };
}

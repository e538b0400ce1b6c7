// POST /api/v1/customers (upsert) and PATCH /api/v1/customers/{id}: thin mappings onto the
// domain writes. The rendering below runs inside the write transaction and is what an
// Idempotency-Key stores, so a replay answers the first status and body byte for byte.
import { Scope } from '../auth/scopes.js';
import { updateCustomer, upsertCustomer, UpsertOutcome, type WriteResponse, type WriteResult } from '../customers/upsert.js';
import { keyActor } from '../events/actor.js';
import { validateIdempotencyKey, type StoredResponse } from '../idempotency/store.js';
import { ErrorCode } from '../lib/error-codes.js';
import { toPublicCustomer } from '../projection/customer.js';
import { RestError, validationFailed, type ErrorBody } from './errors.js';
import { renderCustomer, type RestCustomer } from './render.js';
import type { RestRequest, RestResponse, Route } from './router.js';

const IDEMPOTENCY_HEADER = 'idempotency-key';
/** Set on a REST answer served from an Idempotency-Key (SPEC section 4). */
export const REPLAYED_HEADER = 'Idempotent-Replayed';

/** The REST rendering of a write that ran (stored under the idempotency key). */
function render(result: WriteResult): StoredResponse<RestCustomer | ErrorBody> {
  switch (result.kind) {
    case 'success':
      return { status: result.outcome === UpsertOutcome.Created ? 201 : 200, body: renderCustomer(toPublicCustomer(result.customer)) };
    case 'conflict':
      return new RestError(ErrorCode.Conflict, `The ${result.field} belongs to another customer.`, { field: result.field }).stored();
    case 'frozen':
      return validationFailed(result.fieldErrors).stored();
    case 'not_found':
      return new RestError(ErrorCode.NotFound, 'No such customer.').stored();
  }
}

/** The Idempotency-Key header, checked before anything runs (a bad key is never stored). */
function idempotencyOf(req: RestRequest, operation: string): { operation: string; key: string } | undefined {
  const raw = req.headers[IDEMPOTENCY_HEADER];
  if (raw === undefined) return undefined;
  const key = Array.isArray(raw) ? raw.join(',') : raw;
  const problem = validateIdempotencyKey(key, 'Idempotency-Key');
  if (problem) throw validationFailed([problem]);
  return { operation, key };
}

function respond(out: WriteResponse<RestCustomer | ErrorBody>): RestResponse {
  switch (out.kind) {
    case 'invalid':
      throw validationFailed(out.fieldErrors);
    case 'idempotency_conflict':
      throw new RestError(ErrorCode.IdempotencyConflict, 'This Idempotency-Key was used with a different request.');
    case 'idempotency_in_progress':
      throw new RestError(
        ErrorCode.IdempotencyInProgress,
        'A request with this Idempotency-Key is still running; retry shortly.',
        {},
        { 'Retry-After': '1' },
      );
    case 'ran':
      return { status: out.response.status, body: out.response.body };
    case 'replayed':
      return { status: out.response.status, body: out.response.body, headers: { [REPLAYED_HEADER]: 'true' } };
  }
}

async function create(req: RestRequest): Promise<RestResponse> {
  const idempotency = idempotencyOf(req, 'POST /customers');
  const { orgId } = req.principal;
  return respond(await upsertCustomer(req.services, { orgId, actor: keyActor(req.principal), input: req.body, idempotency, render }));
}

async function patch(req: RestRequest): Promise<RestResponse> {
  const id = req.params.id!;
  const idempotency = idempotencyOf(req, `PATCH /customers/${id}`);
  const { orgId } = req.principal;
  return respond(await updateCustomer(req.services, { orgId, actor: keyActor(req.principal), id, input: req.body, idempotency, render }));
}

export const customerWriteRoutes: Route[] = [
  { method: 'POST', path: '/customers', scope: Scope.CustomersWrite, handler: create },
  { method: 'PATCH', path: '/customers/{id}', scope: Scope.CustomersWrite, handler: patch },
];

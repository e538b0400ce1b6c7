// Integrator writes: upsertCustomer and updateCustomer (SPEC sections 4 and 7). Thin: the
// domain (customers/upsert.ts) validates, decides, writes and handles idempotency; this file
// renders its results as GraphQL payloads. The payload is what an idempotency key stores, so a
// replay rebuilds the very same payload (the customer from its public snapshot).
import { Scope } from '../../auth/scopes.js';
import { customerFromSnapshot, type Customer, type PublicCustomer } from '../../customers/dto.js';
import {
  updateCustomer,
  upsertCustomer,
  UpsertOutcome,
  type StoredResponse,
  type WriteResponse,
  type WriteResult,
} from '../../customers/upsert.js';
import { CUSTOMER_INPUT_SPEC } from '../../customers/validation.js';
import type { FieldError } from '../../lib/error-codes.js';
import { keyActor } from '../../events/actor.js';
import { builder } from '../builder.js';
import { principalOf } from '../context.js';
import { CustomerObject, CustomerTypeEnum } from './customer.js';
import {
  CustomerConflictError,
  CustomerNotFoundError,
  IdempotencyKeyConflictError,
  IdempotencyKeyInProgressError,
  ValidationError,
} from './errors.js';

/** The GraphQL operations of idempotency scopes: the mutation field names (SPEC section 4). */
export const GraphQLWriteOperation = { Upsert: 'upsertCustomer', Update: 'updateCustomer' } as const;

/** HTTP status stored with GraphQL payloads: GraphQL answers 200 whatever the result. */
const GRAPHQL_STATUS = 200;

class UpsertCustomerSuccess {
  constructor(
    readonly outcome: UpsertOutcome,
    readonly customer: Customer,
    readonly replayed: boolean,
  ) {}
}

class UpdateCustomerSuccess {
  constructor(
    readonly customer: Customer,
    readonly replayed: boolean,
  ) {}
}

const UpsertOutcomeEnum = builder.enumType('UpsertOutcome', {
  description: 'What an upsert did: created a customer, updated the matching one, or adopted a customer with no external id by setting it.',
  values: Object.values(UpsertOutcome),
});

const replayedField = {
  description: 'True when served from an idempotency key: the stored result of the first request, nothing was written.',
};

builder.objectType(UpsertCustomerSuccess, {
  name: 'UpsertCustomerSuccess',
  fields: (t) => ({
    customer: t.field({ type: CustomerObject, resolve: (s) => s.customer }),
    outcome: t.field({ type: UpsertOutcomeEnum, resolve: (s) => s.outcome }),
    replayed: t.exposeBoolean('replayed', replayedField),
  }),
});

builder.objectType(UpdateCustomerSuccess, {
  name: 'UpdateCustomerSuccess',
  fields: (t) => ({
    customer: t.field({ type: CustomerObject, resolve: (s) => s.customer }),
    replayed: t.exposeBoolean('replayed', replayedField),
  }),
});

/** GraphQL type name of a result object: each member of the unions is its own class. */
const RESULT_TYPES = new Map<Function, string>([
  [UpsertCustomerSuccess, 'UpsertCustomerSuccess'],
  [UpdateCustomerSuccess, 'UpdateCustomerSuccess'],
  [ValidationError, 'ValidationError'],
  [CustomerConflictError, 'CustomerConflictError'],
  [CustomerNotFoundError, 'CustomerNotFoundError'],
  [IdempotencyKeyConflictError, 'IdempotencyKeyConflictError'],
  [IdempotencyKeyInProgressError, 'IdempotencyKeyInProgressError'],
]);
const resolveType = (value: object) => RESULT_TYPES.get(value.constructor) ?? null;

const UpsertCustomerResult = builder.errorUnion('UpsertCustomerResult', {
  types: [UpsertCustomerSuccess, ValidationError, CustomerConflictError, IdempotencyKeyConflictError, IdempotencyKeyInProgressError],
  resolveType,
});

const UpdateCustomerResult = builder.errorUnion('UpdateCustomerResult', {
  types: [
    UpdateCustomerSuccess,
    ValidationError,
    CustomerConflictError,
    CustomerNotFoundError,
    IdempotencyKeyConflictError,
    IdempotencyKeyInProgressError,
  ],
  resolveType,
});

const describe = (field: string) => CUSTOMER_INPUT_SPEC[field]?.description ?? '';

const CustomerRiskInput = builder.inputType('CustomerRiskInput', {
  description: describe('risk'),
  fields: (t) => ({
    isNewCustomer: t.boolean({ required: false }),
    isDesignatedService: t.boolean({ required: false }),
    handlesCashOrCrypto: t.boolean({ required: false }),
  }),
});

const UpsertCustomerInput = builder.inputType('UpsertCustomerInput', {
  fields: (t) => ({
    externalId: t.string({ required: false, description: describe('externalId') }),
    type: t.field({ type: CustomerTypeEnum, required: false, description: describe('type') }),
    fullName: t.string({ required: true, description: describe('fullName') }),
    email: t.string({ required: true, description: describe('email') }),
    phone: t.string({ required: false, description: describe('phone') }),
    risk: t.field({ type: CustomerRiskInput, required: false }),
  }),
});

const UpdateCustomerInput = builder.inputType('UpdateCustomerInput', {
  description: 'Fields left out stay unchanged.',
  fields: (t) => ({
    fullName: t.string({ required: false, description: describe('fullName') }),
    email: t.string({ required: false, description: describe('email') }),
    phone: t.string({ required: false, description: describe('phone') }),
    risk: t.field({ type: CustomerRiskInput, required: false }),
  }),
});

/** The stored form of a payload: plain JSON, tagged with its GraphQL type. */
type Payload =
  | { type: 'UpsertCustomerSuccess'; outcome: UpsertOutcome; customer: PublicCustomer }
  | { type: 'UpdateCustomerSuccess'; customer: PublicCustomer }
  | { type: 'ValidationError'; message: string; fieldErrors: FieldError[] }
  | { type: 'CustomerConflictError'; field: string }
  | { type: 'CustomerNotFoundError' };

function render(success: 'UpsertCustomerSuccess' | 'UpdateCustomerSuccess') {
  return (result: WriteResult): StoredResponse => {
    let body: Payload;
    switch (result.kind) {
      case 'success':
        body =
          success === 'UpsertCustomerSuccess'
            ? { type: success, outcome: result.outcome, customer: result.customer }
            : { type: success, customer: result.customer };
        break;
      case 'conflict':
        body = { type: 'CustomerConflictError', field: result.field };
        break;
      case 'validation_failed':
        body = { type: 'ValidationError', message: new ValidationError(result.fieldErrors).message, fieldErrors: result.fieldErrors };
        break;
      case 'not_found':
        body = { type: 'CustomerNotFoundError' };
        break;
    }
    return { status: GRAPHQL_STATUS, body };
  };
}

/** The domain's answer as a GraphQL result object (fresh and replayed alike, from the payload). */
function toResult(r: WriteResponse, orgId: string) {
  switch (r.kind) {
    case 'invalid':
      return new ValidationError(r.fieldErrors);
    case 'idempotency_conflict':
      return new IdempotencyKeyConflictError();
    case 'idempotency_in_progress':
      return new IdempotencyKeyInProgressError();
    case 'done': {
      const p = r.response.body as Payload;
      switch (p.type) {
        case 'UpsertCustomerSuccess':
          return new UpsertCustomerSuccess(p.outcome, customerFromSnapshot(orgId, p.customer), r.replayed);
        case 'UpdateCustomerSuccess':
          return new UpdateCustomerSuccess(customerFromSnapshot(orgId, p.customer), r.replayed);
        case 'ValidationError':
          return new ValidationError(p.fieldErrors, p.message);
        case 'CustomerConflictError':
          return new CustomerConflictError(p.field);
        case 'CustomerNotFoundError':
          return new CustomerNotFoundError();
      }
    }
  }
}

const idempotencyKeyArg = {
  required: false,
  description:
    'Optional, 1–255 characters. Within 24 hours the same key with the same input replays the first result (replayed: true) without writing anything; with a different input it is an IdempotencyKeyConflictError.',
} as const;

builder.mutationFields((t) => ({
  upsertCustomer: t.field({
    type: UpsertCustomerResult,
    description:
      'Creates or updates a customer by the match rules: externalId first, then email (case-insensitive). Scope customers:write.',
    authScopes: { [Scope.CustomersWrite]: true },
    args: {
      input: t.arg({ type: UpsertCustomerInput, required: true }),
      idempotencyKey: t.arg.string(idempotencyKeyArg),
    },
    resolve: async (_root, args, ctx) => {
      const principal = principalOf(ctx);
      const { orgId } = principal;
      const key = args.idempotencyKey ?? undefined;
      const r = await upsertCustomer(ctx.services, {
        orgId,
        actor: keyActor(principal),
        input: args.input,
        idempotency: key === undefined ? undefined : { operation: GraphQLWriteOperation.Upsert, key },
        render: render('UpsertCustomerSuccess'),
      });
      return toResult(r, orgId) as typeof UpsertCustomerResult.$inferType;
    },
  }),

  updateCustomer: t.field({
    type: UpdateCustomerResult,
    description:
      'Partially updates a customer (fullName, email, phone, risk); fields left out stay unchanged. `id` is the UUID or the external id. Scope customers:write.',
    authScopes: { [Scope.CustomersWrite]: true },
    args: {
      id: t.arg.id({ required: true }),
      input: t.arg({ type: UpdateCustomerInput, required: true }),
      idempotencyKey: t.arg.string(idempotencyKeyArg),
    },
    resolve: async (_root, args, ctx) => {
      const principal = principalOf(ctx);
      const { orgId } = principal;
      const key = args.idempotencyKey ?? undefined;
      const r = await updateCustomer(ctx.services, {
        orgId,
        actor: keyActor(principal),
        id: args.id,
        input: args.input,
        idempotency: key === undefined ? undefined : { operation: GraphQLWriteOperation.Update, key },
        render: render('UpdateCustomerSuccess'),
      });
      return toResult(r, orgId) as typeof UpdateCustomerResult.$inferType;
    },
  }),
}));

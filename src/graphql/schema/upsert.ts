// Integrator writes: upsertCustomer and updateCustomer (SPEC sections 4 and 7). Thin: the
// domain (customers/upsert.ts) validates, decides, writes and handles idempotency; this file
// answers with its result. Expected failures are thrown as the error types of the errors plugin
// (`errors` on each field), which puts them in the result union. What an idempotency key stores
// is the payload below; a replay rebuilds the answer from it (the customer from its public
// snapshot), while a write that ran now answers from its own result, with the row it wrote.
import { Scope } from '../../auth/scopes.js';
import { customerFromSnapshot, type Customer } from '../../customers/row.js';
import {
  updateCustomer,
  upsertCustomer,
  UpsertOutcome,
  type StoredResponse,
  type WriteResponse,
  type WriteResult,
} from '../../customers/upsert.js';
import { CUSTOMER_INPUT_SPEC, type FieldSpec } from '../../customers/validation.js';
import { keyActor } from '../../events/actor.js';
import type { FieldError } from '../../lib/error-codes.js';
import { toPublicCustomer, type PublicCustomer } from '../../projection/customer.js';
import { builder } from '../builder.js';
import { principalOf } from '../context.js';
import { CustomerObject, CustomerTypeEnum, idArgDescription } from './customer.js';
import {
  CustomerConflictError,
  CustomerNotFoundError,
  IdempotencyKeyConflictError,
  IdempotencyKeyInProgressError,
  ValidationError,
} from './errors.js';

/** The GraphQL operations of idempotency scopes: the mutation field names (SPEC section 4). */
const GraphQLWriteOperation = { Upsert: 'upsertCustomer', Update: 'updateCustomer' } as const;

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
  values: {
    CREATED: { description: 'No customer matched: a new one was created (REST 201).' },
    UPDATED: { description: 'A customer matched by external id, or by email when no external id was sent, and was updated (REST 200).' },
    ADOPTED: {
      description:
        'No customer had the external id sent, but one without an external id had the email: it was given the external id and updated (REST 200).',
    },
  } satisfies Record<UpsertOutcome, { description: string }>,
});

const replayedField = {
  description: 'True when served from an idempotency key: the stored result of the first request, nothing was written.',
};

builder.objectType(UpsertCustomerSuccess, {
  name: 'UpsertCustomerSuccess',
  description: 'The upsert ran: the customer was created or updated.',
  fields: (t) => ({
    customer: t.field({ type: CustomerObject, description: 'The customer after the write.', resolve: (s) => s.customer }),
    outcome: t.field({ type: UpsertOutcomeEnum, description: 'Which match rule applied.', resolve: (s) => s.outcome }),
    replayed: t.exposeBoolean('replayed', replayedField),
  }),
});

builder.objectType(UpdateCustomerSuccess, {
  name: 'UpdateCustomerSuccess',
  description: 'The update ran. When every field sent already had that value, nothing was written and updatedAt is unchanged.',
  fields: (t) => ({
    customer: t.field({ type: CustomerObject, description: 'The customer after the update.', resolve: (s) => s.customer }),
    replayed: t.exposeBoolean('replayed', replayedField),
  }),
});

/** The domain's description of a write field (customers/validation.ts), with the length limits its spec enforces. */
function describeSpec(spec: FieldSpec | undefined): string {
  if (!spec) return '';
  if (spec.kind !== 'string') return spec.description;
  return `${spec.description} ${spec.minLength} to ${spec.maxLength} characters${spec.trim ? ', surrounding spaces trimmed' : ''}.`;
}
const describe = (field: string) => describeSpec(CUSTOMER_INPUT_SPEC[field]);
const riskSpec = CUSTOMER_INPUT_SPEC.risk;
const describeRisk = (field: string) => describeSpec(riskSpec?.kind === 'object' ? riskSpec.fields[field] : undefined);

const CustomerRiskInput = builder.inputType('CustomerRiskInput', {
  description: describe('risk'),
  fields: (t) => ({
    isNewCustomer: t.boolean({ required: false, description: describeRisk('isNewCustomer') }),
    isDesignatedService: t.boolean({ required: false, description: describeRisk('isDesignatedService') }),
    handlesCashOrCrypto: t.boolean({ required: false, description: describeRisk('handlesCashOrCrypto') }),
  }),
});

const UpsertCustomerInput = builder.inputType('UpsertCustomerInput', {
  description:
    'A customer as your CRM knows it. Matched by externalId, then by email; an update overwrites the fields sent and keeps those left out.',
  fields: (t) => ({
    externalId: t.string({ required: false, description: describe('externalId') }),
    type: t.field({ type: CustomerTypeEnum, required: false, description: describe('type') }),
    fullName: t.string({ required: true, description: describe('fullName') }),
    email: t.string({ required: true, description: describe('email') }),
    phone: t.string({ required: false, description: describe('phone') }),
    risk: t.field({ type: CustomerRiskInput, required: false, description: describe('risk') }),
  }),
});

const UpdateCustomerInput = builder.inputType('UpdateCustomerInput', {
  description: 'The fields of a customer an integrator may change; fields left out stay unchanged. Type and external id never change.',
  fields: (t) => ({
    fullName: t.string({ required: false, description: describe('fullName') }),
    email: t.string({ required: false, description: describe('email') }),
    phone: t.string({ required: false, description: describe('phone') }),
    risk: t.field({ type: CustomerRiskInput, required: false, description: describe('risk') }),
  }),
});

/**
 * What an idempotency key stores for these mutations: plain JSON, tagged with the GraphQL type.
 * Keys live for a day across deployments, so this form stays as it is (or gains a version).
 */
type Payload =
  | { type: 'UpsertCustomerSuccess'; outcome: UpsertOutcome; customer: PublicCustomer }
  | { type: 'UpdateCustomerSuccess'; customer: PublicCustomer }
  | { type: 'ValidationError'; message: string; fieldErrors: FieldError[] }
  | { type: 'CustomerConflictError'; field: string }
  | { type: 'CustomerNotFoundError' };

/** HTTP status stored with GraphQL payloads: GraphQL answers 200 whatever the result. */
const GRAPHQL_STATUS = 200;

/** The payload a result stores under its key. */
function payloadOf(success: 'UpsertCustomerSuccess' | 'UpdateCustomerSuccess', result: WriteResult): Payload {
  switch (result.kind) {
    case 'success': {
      const customer = toPublicCustomer(result.customer);
      return success === 'UpsertCustomerSuccess' ? { type: success, outcome: result.outcome, customer } : { type: success, customer };
    }
    case 'conflict':
      return { type: 'CustomerConflictError', field: result.field };
    case 'frozen':
      return { type: 'ValidationError', message: new ValidationError(result.fieldErrors).message, fieldErrors: result.fieldErrors };
    case 'not_found':
      return { type: 'CustomerNotFoundError' };
  }
}

/** The domain's `render` for a mutation (called inside the write transaction; what a key stores). */
const store =
  (success: 'UpsertCustomerSuccess' | 'UpdateCustomerSuccess') =>
  (result: WriteResult): StoredResponse<Payload> => ({ status: GRAPHQL_STATUS, body: payloadOf(success, result) });

/** A successful write, for its success type; `replayed` when it came from a key. */
interface Succeeded {
  outcome: UpsertOutcome;
  customer: Customer;
  replayed: boolean;
}

/** The domain's answer: the success, or its error thrown for the errors plugin. */
function answer(r: WriteResponse<Payload>, orgId: string): Succeeded {
  switch (r.kind) {
    case 'invalid':
      throw new ValidationError(r.fieldErrors);
    case 'idempotency_conflict':
      throw new IdempotencyKeyConflictError();
    case 'idempotency_in_progress':
      throw new IdempotencyKeyInProgressError();
    case 'ran':
      return fromResult(r.result);
    case 'replayed':
      return fromPayload(r.response.body, orgId);
  }
}

/** A write that ran now: answered from its result, with the row it wrote. */
function fromResult(result: WriteResult): Succeeded {
  switch (result.kind) {
    case 'success':
      return { outcome: result.outcome, customer: result.customer, replayed: false };
    case 'conflict':
      throw new CustomerConflictError(result.field);
    case 'frozen':
      throw new ValidationError(result.fieldErrors);
    case 'not_found':
      throw new CustomerNotFoundError();
  }
}

/** A replay: the stored payload, the customer rebuilt from its public snapshot. */
function fromPayload(p: Payload, orgId: string): Succeeded {
  switch (p.type) {
    case 'UpsertCustomerSuccess':
      return { outcome: p.outcome, customer: customerFromSnapshot(orgId, p.customer), replayed: true };
    case 'UpdateCustomerSuccess':
      return { outcome: UpsertOutcome.Updated, customer: customerFromSnapshot(orgId, p.customer), replayed: true };
    case 'ValidationError':
      throw new ValidationError(p.fieldErrors, p.message);
    case 'CustomerConflictError':
      throw new CustomerConflictError(p.field);
    case 'CustomerNotFoundError':
      throw new CustomerNotFoundError();
  }
}

/** The expected failures of both writes (plugin-errors puts them in the result union). */
const WRITE_ERRORS = [ValidationError, CustomerConflictError, IdempotencyKeyConflictError, IdempotencyKeyInProgressError];

const idempotencyKeyArg = {
  required: false,
  description:
    'Optional, 1–255 characters. Within 24 hours the same key with the same input replays the first result (replayed: true) without writing anything; with a different input it is an IdempotencyKeyConflictError.',
} as const;

builder.mutationFields((t) => ({
  upsertCustomer: t.field({
    type: UpsertCustomerSuccess,
    nullable: true,
    errors: {
      types: WRITE_ERRORS,
      directResult: true,
      union: {
        name: 'UpsertCustomerResult',
        description: 'The outcome of upsertCustomer: the customer, or why nothing was changed. Every error type implements Error.',
      },
    },
    description:
      'Creates or updates a customer of your organisation by the match rules: externalId first, then email (case-insensitive); see UpsertOutcome. An email that belongs to another customer is a CustomerConflictError, and a new full name or email for a VERIFIED customer is a ValidationError; neither changes anything. Retry safely with idempotencyKey. Scope customers:write.',
    authScopes: { [Scope.CustomersWrite]: true },
    args: {
      input: t.arg({ type: UpsertCustomerInput, required: true, description: 'The customer to create or update.' }),
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
        render: store('UpsertCustomerSuccess'),
      });
      const { outcome, customer, replayed } = answer(r, orgId);
      return new UpsertCustomerSuccess(outcome, customer, replayed);
    },
  }),

  updateCustomer: t.field({
    type: UpdateCustomerSuccess,
    nullable: true,
    errors: {
      types: [...WRITE_ERRORS, CustomerNotFoundError],
      directResult: true,
      union: {
        name: 'UpdateCustomerResult',
        description: 'The outcome of updateCustomer: the customer, or why nothing was changed. Every error type implements Error.',
      },
    },
    description:
      'Partially updates a customer (fullName, email, phone, risk); fields left out stay unchanged. An unknown id is a CustomerNotFoundError, an email that belongs to another customer a CustomerConflictError, a new full name or email for a VERIFIED customer a ValidationError; none changes anything. Retry safely with idempotencyKey. Scope customers:write.',
    authScopes: { [Scope.CustomersWrite]: true },
    args: {
      id: t.arg.id({ required: true, description: idArgDescription }),
      input: t.arg({ type: UpdateCustomerInput, required: true, description: 'The fields to change.' }),
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
        render: store('UpdateCustomerSuccess'),
      });
      const { customer, replayed } = answer(r, orgId);
      return new UpdateCustomerSuccess(customer, replayed);
    },
  }),
}));

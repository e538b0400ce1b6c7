// Expected failures are schema types (plugin-errors): every one implements `Error { code
// message }` with the REST error codes of SPEC section 6. Unexpected errors are masked.
import { ErrorCode, type FieldError } from '../../lib/error-codes.js';
import { builder } from '../builder.js';

/** Base of every error that is part of the API contract. */
export abstract class ApiError extends Error {
  abstract readonly code: ErrorCode;
}

export const ErrorInterface = builder.interfaceRef<ApiError>('Error').implement({
  description: 'Every expected failure carries a stable machine-readable code (the REST error code) and a message.',
  fields: (t) => ({
    code: t.exposeString('code', {
      description:
        'Stable machine-readable code, the same as the REST error code (e.g. validation_failed, conflict); branch on it or on __typename.',
    }),
    message: t.exposeString('message', { description: 'Human-readable explanation in English; it may change, so never parse it.' }),
  }),
});

export class ValidationError extends ApiError {
  readonly code = ErrorCode.ValidationFailed;
  constructor(
    readonly fieldErrors: FieldError[],
    message = 'The input is not valid; see fieldErrors.',
  ) {
    super(message);
  }
}

export class CustomerNotFoundError extends ApiError {
  readonly code = ErrorCode.NotFound;
  constructor(message = 'No such customer in your organisation.') {
    super(message);
  }
}

/** A KYC / AML move the state machine does not allow (SPEC section 5); nothing changed. */
export class InvalidTransitionError extends ApiError {
  readonly code = ErrorCode.InvalidTransition;
  constructor(
    readonly from: string,
    readonly to: string,
    message: string,
  ) {
    super(message);
  }
}

const FieldErrorObject = builder.objectRef<FieldError>('FieldError').implement({
  description: 'One bad input field.',
  fields: (t) => ({
    field: t.exposeString('field', {
      description:
        'The input field, as named in the input type; nested fields are dotted (e.g. "email", "risk.isNewCustomer", "identity.country").',
    }),
    message: t.exposeString('message', { description: 'What is wrong with it (e.g. "must be at most 255 characters").' }),
  }),
});

builder.objectType(ValidationError, {
  name: 'ValidationError',
  description: 'One or more input fields are invalid; every bad field is listed (code validation_failed).',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    fieldErrors: t.field({ type: [FieldErrorObject], description: 'Every bad field, at least one.', resolve: (e) => e.fieldErrors }),
  }),
});

builder.objectType(CustomerNotFoundError, {
  name: 'CustomerNotFoundError',
  description: 'No customer with that id or external id in your organisation (code not_found).',
  interfaces: [ErrorInterface],
});

export class CustomerConflictError extends ApiError {
  readonly code = ErrorCode.Conflict;
  constructor(
    readonly field: string,
    message = `The ${field} belongs to another customer of your organisation; nothing was changed.`,
  ) {
    super(message);
  }
}

export class IdempotencyKeyConflictError extends ApiError {
  readonly code = ErrorCode.IdempotencyConflict;
  constructor(message = 'This idempotency key was already used with a different input.') {
    super(message);
  }
}

export class IdempotencyKeyInProgressError extends ApiError {
  readonly code = ErrorCode.IdempotencyInProgress;
  constructor(message = 'A request with this idempotency key is still running; retry in a second.') {
    super(message);
  }
}

builder.objectType(CustomerConflictError, {
  name: 'CustomerConflictError',
  description: 'The email belongs to another customer of your organisation; nothing was changed (code conflict).',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    field: t.exposeString('field', { description: 'The conflicting input field (e.g. "email").' }),
  }),
});

builder.objectType(IdempotencyKeyConflictError, {
  name: 'IdempotencyKeyConflictError',
  description: 'The idempotency key was used within 24 hours with a different input (code idempotency_conflict).',
  interfaces: [ErrorInterface],
});

builder.objectType(IdempotencyKeyInProgressError, {
  name: 'IdempotencyKeyInProgressError',
  description:
    'A request with the same idempotency key is still running after the bounded wait; retry shortly (code idempotency_in_progress).',
  interfaces: [ErrorInterface],
});

builder.objectType(InvalidTransitionError, {
  name: 'InvalidTransitionError',
  description: 'The KYC / AML state machine does not allow this move; nothing was changed (code invalid_transition).',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    from: t.exposeString('from', { description: 'The current status.' }),
    to: t.exposeString('to', { description: 'The status asked for.' }),
  }),
});

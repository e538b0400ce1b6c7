/** The error codes of the API contract (SPEC section 6), shared by REST and GraphQL `Error.code`. */
export const ErrorCode = {
  InvalidRequest: 'invalid_request',
  Unauthorized: 'unauthorized',
  Forbidden: 'forbidden',
  NotFound: 'not_found',
  Conflict: 'conflict',
  IdempotencyConflict: 'idempotency_conflict',
  IdempotencyInProgress: 'idempotency_in_progress',
  PayloadTooLarge: 'payload_too_large',
  UnsupportedMediaType: 'unsupported_media_type',
  ValidationFailed: 'validation_failed',
  InvalidTransition: 'invalid_transition',
  RateLimited: 'rate_limited',
  Internal: 'internal_error',
  Unavailable: 'unavailable',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** One bad input field; every bad field of a request is reported at once. */
export interface FieldError {
  field: string;
  message: string;
}

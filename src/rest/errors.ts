// The one REST error envelope: {"error":{"code","message","details"}} (SPEC section 6).
import { ErrorCode, type FieldError } from '../lib/error-codes.js';

export const HttpStatus: Record<ErrorCode, number> = {
  [ErrorCode.InvalidRequest]: 400,
  [ErrorCode.Unauthorized]: 401,
  [ErrorCode.Forbidden]: 403,
  [ErrorCode.NotFound]: 404,
  [ErrorCode.Conflict]: 409,
  [ErrorCode.IdempotencyConflict]: 409,
  [ErrorCode.IdempotencyInProgress]: 409,
  [ErrorCode.PayloadTooLarge]: 413,
  [ErrorCode.UnsupportedMediaType]: 415,
  [ErrorCode.ValidationFailed]: 422,
  [ErrorCode.InvalidTransition]: 422,
  [ErrorCode.RateLimited]: 429,
  [ErrorCode.Internal]: 500,
  [ErrorCode.Unavailable]: 503,
};

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details: Record<string, unknown> };
}

/** A REST failure: rendered as the envelope with its status and extra headers. */
export class RestError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.status = HttpStatus[code];
  }

  body(): ErrorBody {
    return { error: { code: this.code, message: this.message, details: this.details } };
  }

  /** As a stored idempotent response (status and body). */
  stored(): { status: number; body: ErrorBody } {
    return { status: this.status, body: this.body() };
  }
}

export function validationFailed(fields: FieldError[]): RestError {
  return new RestError(ErrorCode.ValidationFailed, 'The request is not valid; see details.fields.', { fields });
}

export function notFound(message = 'No such customer.'): RestError {
  return new RestError(ErrorCode.NotFound, message);
}

// Expected failures are schema types (plugin-errors): every one implements `Error { code
// message }` with the REST error codes of SPEC section 6. Unexpected errors are masked.
import { builder } from '../builder.js';

/** Base of every error that is part of the API contract. */
export abstract class ApiError extends Error {
  abstract readonly code: string;
}

export const ErrorInterface = builder.interfaceRef<ApiError>('Error').implement({
  description: 'Every expected failure carries a stable machine-readable code (the REST error code) and a message.',
  fields: (t) => ({
    code: t.exposeString('code'),
    message: t.exposeString('message'),
  }),
});

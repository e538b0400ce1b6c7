// Checks of GraphQL arguments that are not mutation inputs (those answer with the
// ValidationError member of their result union): a refused argument is an error with
// `extensions.code: BAD_USER_INPUT` and `extensions.fieldErrors` naming every bad argument.
import { GraphQLError } from 'graphql';
import { checkCustomerRef, checkFilterText } from '../../customers/queries.js';
import type { FieldError } from '../../lib/error-codes.js';
import { GraphQLErrorCode } from '../context.js';

/** The error of refused arguments: BAD_USER_INPUT, each bad argument named in `fieldErrors`. */
export function badUserInput(fieldErrors: FieldError[]): GraphQLError {
  const list = fieldErrors.map((f) => `${f.field} ${f.message}`).join('; ');
  return new GraphQLError(`Invalid argument: ${list}.`, { extensions: { code: GraphQLErrorCode.BadUserInput, fieldErrors } });
}

/** Throws BAD_USER_INPUT naming every filter argument (text or list of text) refused by checkFilterText. */
export function assertFilterArgs(args: Record<string, string | readonly string[] | null | undefined>): void {
  const fieldErrors: FieldError[] = [];
  for (const [field, value] of Object.entries(args)) {
    const texts = value === null || value === undefined ? [] : typeof value === 'string' ? [value] : value;
    const error = texts.map((text) => checkFilterText(text, field)).find((e) => e !== null);
    if (error) fieldErrors.push(error);
  }
  if (fieldErrors.length) throw badUserInput(fieldErrors);
}

/** A customer `id` argument to look up, or null when it names no customer (checkCustomerRef). */
export function customerRefArg(id: string, field = 'id'): string | null {
  const ref = checkCustomerRef(id, field);
  if (ref.kind === 'invalid') throw badUserInput([ref.fieldError]);
  return ref.kind === 'lookup' ? ref.ref : null;
}

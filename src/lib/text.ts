// The one place that decides which client text PostgreSQL can store (SPEC section 9). Every
// piece of text a client sends that may reach a statement (body fields, ids, filters, keys)
// is checked here first, so that unstorable text is a `validation_failed` naming the field
// and never a database error.
//
// PostgreSQL's UTF-8 `text` and `jsonb` accept every Unicode scalar value except U+0000:
// - NUL is refused by text (22021) and by jsonb (`\u0000`, 22P05);
// - a lone UTF-16 surrogate (a JavaScript string may hold one, e.g. from JSON `"\ud800"`)
//   is not a scalar value: jsonb refuses its escape (22P02), and the driver's UTF-8 encoding
//   silently turns it into U+FFFD in text columns, storing something the client did not send.
// Nothing else needs refusing: the other control characters and the noncharacters are valid
// UTF-8 and come back unchanged.
import type { FieldError } from './error-codes.js';

// With the `u` flag a well-formed surrogate pair is one code point, so \p{Cs} (surrogate)
// matches only the unpaired halves.
const NUL = /\u0000/u;
const LONE_SURROGATE = /\p{Cs}/u;

/** Why PostgreSQL cannot store `text` (a message for a field error), or null when it can. */
export function unstorableTextReason(text: string): string | null {
  if (NUL.test(text)) return 'must not contain NUL (U+0000) characters';
  if (LONE_SURROGATE.test(text)) return 'must be valid Unicode text (it contains an unpaired UTF-16 surrogate)';
  return null;
}

/** The field error for unstorable text, or null when `text` can be stored. */
export function checkStorableText(text: string, field: string): FieldError | null {
  const reason = unstorableTextReason(text);
  return reason === null ? null : { field, message: reason };
}

/**
 * Length in characters (Unicode code points), as PostgreSQL's varchar(n) and JSON Schema's
 * maxLength count them; JavaScript's `length` counts UTF-16 units, two for an astral character.
 */
export function textLength(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

// Opaque cursors: base64url of a small JSON document. Opaque to clients, but validated on
// the way in so a forged or stale cursor is a clear input error, not a server failure.

export class InvalidCursorError extends Error {
  constructor() {
    super('The cursor is not valid.');
    this.name = 'InvalidCursorError';
  }
}

/** The opaque form of a cursor document: base64url of its JSON. */
export function encodeCursor(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

/**
 * Decodes a cursor and reads its document with `read`, which checks every embedded value and
 * returns null for anything this API did not issue; throws InvalidCursorError then.
 */
export function decodeCursor<T>(cursor: string, read: (doc: Record<string, unknown>) => T | null): T {
  let value: unknown;
  try {
    if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw new Error('not base64url');
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidCursorError();
  }
  const decoded = isDocument(value) ? read(value) : null;
  if (decoded === null) throw new InvalidCursorError();
  return decoded;
}

/** A JSON object (not an array): the shape of every cursor document. */
export const isDocument = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The largest value of PostgreSQL's bigint (event ids, transaction ids as the event log stores them). */
export const BIGINT_MAX = 2n ** 63n - 1n;

/** A non-negative decimal integer that fits a bigint, or null: what a cursor may carry as an id. */
export function parseBigintText(text: unknown): bigint | null {
  if (typeof text !== 'string' || !/^\d{1,19}$/.test(text)) return null;
  const value = BigInt(text);
  return value <= BIGINT_MAX ? value : null;
}

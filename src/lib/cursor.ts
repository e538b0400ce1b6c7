// Opaque cursors: base64url of a small JSON document. Opaque to clients, but validated on
// the way in so a forged or stale cursor is a clear input error, not a server failure.

export class InvalidCursorError extends Error {
  constructor() {
    super('The cursor is not valid.');
    this.name = 'InvalidCursorError';
  }
}

export function encodeCursor(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

/** Decodes a cursor and checks its shape with `guard`; throws InvalidCursorError otherwise. */
export function decodeCursor<T>(cursor: string, guard: (v: unknown) => v is T): T {
  let value: unknown;
  try {
    if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw new Error('not base64url');
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidCursorError();
  }
  if (!guard(value)) throw new InvalidCursorError();
  return value;
}

// Recognises infrastructure failures that callers should see as "temporarily unavailable"
// (503) rather than as an internal error.
const UNAVAILABLE_CODES = new Set([
  'P1001',
  'P1002',
  'P1017',
  'P2024',
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  '57P01',
  '57P03',
  '08006',
  '08001',
  '08003',
]);
const UNAVAILABLE_KINDS = new Set([
  'DatabaseNotReachable',
  'DatabaseUnreachable',
  'ConnectionClosed',
  'SocketTimeout',
  'TooManyConnections',
]);

/** True when an error means the database cannot be reached right now. */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && depth < 5; depth++) {
    if (typeof e !== 'object') return false;
    const o = e as { code?: unknown; kind?: unknown; cause?: unknown; message?: unknown; originalCode?: unknown };
    if (typeof o.code === 'string' && UNAVAILABLE_CODES.has(o.code)) return true;
    if (typeof o.originalCode === 'string' && UNAVAILABLE_CODES.has(o.originalCode)) return true;
    if (typeof o.kind === 'string' && UNAVAILABLE_KINDS.has(o.kind)) return true;
    if (typeof o.message === 'string' && /ECONNREFUSED|Connection terminated|connect ETIMEDOUT|Can't reach database/i.test(o.message))
      return true;
    e = o.cause;
  }
  return false;
}

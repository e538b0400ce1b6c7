// The one classifier of database errors. Every caller that must tell a lost database (503), a
// race worth retrying, or a bounded lock wait from a genuine failure asks `classifyDatabaseError`.
//
// What it reads (each shape seen on real errors, see test/db-errors.test.ts and db-faults.test.ts):
// - Prisma 7 wraps driver-adapter failures in PrismaClientKnownRequestError: a code of its own
//   (P1001 unreachable, P1017 closed, P2002 unique, P2034 write conflict…) and, for errors it has
//   no code for, P2039 (model queries) or P2010 (raw queries); either way the adapter's error is
//   in `meta.driverAdapterError`, whose `cause` is the mapped error: `{ kind, originalCode }`,
//   or `{ kind: 'postgres', code }` carrying the SQLSTATE.
// - pg's own errors: `DatabaseError` with `code` = SQLSTATE, socket errors with a Node `code`,
//   and a few plain Errors with no code at all when a connection dies under a query. Prisma
//   passes those through (with `clientVersion` added), so only their message tells them apart.
// - PGlite (in-process) has no connection to lose; once closed it throws plain Errors too.

/** What a database error means for the caller. */
export const DatabaseErrorKind = {
  /** The database cannot be used right now (down, restarting, connection lost): 503, retry later. */
  Unavailable: 'unavailable',
  /** Two transactions collided (unique violation, serialization failure, deadlock): rerun the transaction. */
  RetryableRace: 'retryable_race',
  /** A lock wait bounded by lock_timeout gave up (the idempotency claim uses this). */
  LockTimeout: 'lock_timeout',
  /** Anything else: a genuine failure (500), or not a database error at all. */
  Other: 'other',
} as const;
export type DatabaseErrorKind = (typeof DatabaseErrorKind)[keyof typeof DatabaseErrorKind];

export interface DatabaseErrorClass {
  kind: DatabaseErrorKind;
  /** The code that decided (SQLSTATE, Prisma code, adapter kind, Node code or known message), for logs. */
  code: string | null;
}

/** PostgreSQL SQLSTATEs (https://www.postgresql.org/docs/current/errcodes-appendix.html). */
export const SqlState = {
  // Class 08, connection exception: the session is gone or never started.
  ConnectionException: '08000',
  ConnectionDoesNotExist: '08003',
  ConnectionFailure: '08006',
  SqlclientUnableToEstablishSqlconnection: '08001',
  SqlserverRejectedEstablishmentOfSqlconnection: '08004',
  /** The connection died during COMMIT; the work may or may not be applied (a key makes the retry safe). */
  TransactionResolutionUnknown: '08007',
  // Class 57, operator intervention: the server is going away or not yet back.
  /** Fast/immediate shutdown, or pg_terminate_backend of our connection. */
  AdminShutdown: '57P01',
  /** Another backend crashed and the server is resetting every session. */
  CrashShutdown: '57P02',
  /** "The database system is starting up / shutting down / in recovery mode". */
  CannotConnectNow: '57P03',
  /** The database we were connected to was dropped under us. */
  DatabaseDropped: '57P04',
  /** The server closed an idle session (idle_session_timeout); the pool reconnects. */
  IdleSessionTimeout: '57P05',
  /** max_connections reached: the server refuses new sessions for now. */
  TooManyConnections: '53300',
  // Races: rerunning the whole transaction sees the winner's committed row and succeeds.
  /** Two creates of the same natural key both found no row (the unique index is the last line of defence). */
  UniqueViolation: '23505',
  /** A concurrent update made our snapshot stale (repeatable read / serializable). */
  SerializationFailure: '40001',
  /** Two transactions locked the same rows crosswise; PostgreSQL aborted one of them. */
  DeadlockDetected: '40P01',
  /** lock_timeout expired (idempotency claim waiting on a duplicate). */
  LockNotAvailable: '55P03',
} as const;

/** Prisma's error codes (https://www.prisma.io/docs/orm/reference/error-reference). */
export const PrismaCode = {
  /** Can't reach database server (adapter kind DatabaseNotReachable: ECONNREFUSED, ENOTFOUND). */
  DatabaseNotReachable: 'P1001',
  /** The database server was reached but timed out. */
  DatabaseTimeout: 'P1002',
  /** Operation timed out (adapter kind SocketTimeout). */
  SocketTimeout: 'P1008',
  /** Server has closed the connection (adapter kind ConnectionClosed: ECONNRESET). */
  ConnectionClosed: 'P1017',
  /** Timed out fetching a connection from the pool (Prisma's own pool; kept for the classic engine). */
  PoolTimeout: 'P2024',
  /** Transaction API error: "Unable to start a transaction in the given time" (maxWait) is the one we treat as unavailable. */
  TransactionApi: 'P2028',
  /** Too many database connections opened (adapter kind TooManyConnections). */
  TooManyConnections: 'P2037',
  /** Unique constraint failed (model queries). */
  UniqueConstraint: 'P2002',
  /** Write conflict or deadlock (adapter kind TransactionWriteConflict: 40001, 40P01). */
  WriteConflict: 'P2034',
} as const;

const UNAVAILABLE_SQLSTATES = new Set<string>([
  SqlState.ConnectionException,
  SqlState.ConnectionDoesNotExist,
  SqlState.ConnectionFailure,
  SqlState.SqlclientUnableToEstablishSqlconnection,
  SqlState.SqlserverRejectedEstablishmentOfSqlconnection,
  SqlState.TransactionResolutionUnknown,
  SqlState.AdminShutdown,
  SqlState.CrashShutdown,
  SqlState.CannotConnectNow,
  SqlState.DatabaseDropped,
  SqlState.IdleSessionTimeout,
  SqlState.TooManyConnections,
]);
// Not here on purpose: 08P01 (protocol violation: a request too big for the protocol, our bug),
// 28xxx / 3D000 (wrong credentials or database: a misconfiguration that retrying will not fix,
// so it stays a loud 500 with an error log), 57014 (a cancelled statement, not a lost session).
const RACE_SQLSTATES = new Set<string>([SqlState.UniqueViolation, SqlState.SerializationFailure, SqlState.DeadlockDetected]);

const UNAVAILABLE_PRISMA_CODES = new Set<string>([
  PrismaCode.DatabaseNotReachable,
  PrismaCode.DatabaseTimeout,
  PrismaCode.SocketTimeout,
  PrismaCode.ConnectionClosed,
  PrismaCode.PoolTimeout,
  PrismaCode.TooManyConnections,
]);
const RACE_PRISMA_CODES = new Set<string>([PrismaCode.UniqueConstraint, PrismaCode.WriteConflict]);
/** The P2028 variant that means "no connection within maxWait"; others (expired, not found) are our bugs. */
const TRANSACTION_START_TIMEOUT = 'Unable to start a transaction in the given time';

/** Driver-adapter error kinds (@prisma/driver-adapter-utils MappedError `kind`). */
const AdapterErrorKind = {
  DatabaseNotReachable: 'DatabaseNotReachable',
  ConnectionClosed: 'ConnectionClosed',
  SocketTimeout: 'SocketTimeout',
  TooManyConnections: 'TooManyConnections',
  UniqueConstraintViolation: 'UniqueConstraintViolation',
  /** Serialization failure or deadlock (40001, 40P01). */
  TransactionWriteConflict: 'TransactionWriteConflict',
} as const;

const UNAVAILABLE_ADAPTER_KINDS = new Set<string>([
  AdapterErrorKind.DatabaseNotReachable,
  AdapterErrorKind.ConnectionClosed,
  AdapterErrorKind.SocketTimeout,
  AdapterErrorKind.TooManyConnections,
]);
const RACE_ADAPTER_KINDS = new Set<string>([AdapterErrorKind.UniqueConstraintViolation, AdapterErrorKind.TransactionWriteConflict]);

/** Node's codes of socket and DNS errors on the way to the server (every one means "unreachable now"). */
const NodeErrorCode = {
  ConnectionRefused: 'ECONNREFUSED',
  ConnectionReset: 'ECONNRESET',
  TimedOut: 'ETIMEDOUT',
  BrokenPipe: 'EPIPE',
  HostUnreachable: 'EHOSTUNREACH',
  NetworkUnreachable: 'ENETUNREACH',
  NameNotFound: 'ENOTFOUND',
  NameLookupTryAgain: 'EAI_AGAIN',
} as const;

const UNAVAILABLE_NODE_CODES = new Set<string>(Object.values(NodeErrorCode));

/**
 * Errors that carry no code, only their text; each is a lost or unusable connection.
 * Exact messages of pg 8 (lib/client.js, pg-pool) and PGlite 0.5 (a closed instance).
 */
const UNAVAILABLE_MESSAGES = new Set<string>([
  'Connection terminated unexpectedly', // the server closed the socket under a query (crash, immediate stop)
  'Connection terminated', // the client was ended under a query
  'Connection terminated due to connection timeout', // pool connectionTimeoutMillis while connecting
  'timeout exceeded when trying to connect', // pool connectionTimeoutMillis while waiting for a slot
  'Client has encountered a connection error and is not queryable',
  'Client was closed and is not queryable',
  'Cannot use a pool after calling end on the pool', // a request still running while the process shuts down
  'PGlite is closed',
  'PGlite is closing',
]);

const SQLSTATE = /^[0-9A-Z]{5}$/;
/** How deep the wrappers (cause, meta.driverAdapterError, AggregateError.errors) are followed. */
const MAX_DEPTH = 8;

type Verdict = DatabaseErrorClass | null;

/** The verdict of one error object on its own (not its causes). */
function judge(o: Record<string, unknown>): Verdict {
  const code = typeof o.code === 'string' ? o.code : undefined;
  const originalCode = typeof o.originalCode === 'string' ? o.originalCode : undefined;
  const kind = typeof o.kind === 'string' ? o.kind : undefined;
  for (const state of [originalCode, code]) {
    if (!state || !SQLSTATE.test(state)) continue;
    if (UNAVAILABLE_SQLSTATES.has(state)) return { kind: DatabaseErrorKind.Unavailable, code: state };
    if (RACE_SQLSTATES.has(state)) return { kind: DatabaseErrorKind.RetryableRace, code: state };
    if (state === SqlState.LockNotAvailable) return { kind: DatabaseErrorKind.LockTimeout, code: state };
  }
  if (kind && UNAVAILABLE_ADAPTER_KINDS.has(kind)) return { kind: DatabaseErrorKind.Unavailable, code: kind };
  if (kind && RACE_ADAPTER_KINDS.has(kind)) return { kind: DatabaseErrorKind.RetryableRace, code: kind };
  if (code && UNAVAILABLE_PRISMA_CODES.has(code)) return { kind: DatabaseErrorKind.Unavailable, code };
  if (code && RACE_PRISMA_CODES.has(code)) return { kind: DatabaseErrorKind.RetryableRace, code };
  if (code === PrismaCode.TransactionApi && typeof o.message === 'string' && o.message.includes(TRANSACTION_START_TIMEOUT)) {
    return { kind: DatabaseErrorKind.Unavailable, code };
  }
  if (code && UNAVAILABLE_NODE_CODES.has(code)) return { kind: DatabaseErrorKind.Unavailable, code };
  if (typeof o.message === 'string' && UNAVAILABLE_MESSAGES.has(o.message)) {
    return { kind: DatabaseErrorKind.Unavailable, code: o.message };
  }
  return null;
}

/**
 * Classifies an error thrown by Prisma, pg or PGlite, following its wrappers. A connection-level
 * failure anywhere in the chain wins (nothing else can be retried on that connection); then a
 * lock timeout, then a race.
 */
export function classifyDatabaseError(error: unknown): DatabaseErrorClass {
  const found: DatabaseErrorClass[] = [];
  const seen = new Set<object>();
  const visit = (e: unknown, depth: number): void => {
    if (typeof e !== 'object' || e === null || depth > MAX_DEPTH || seen.has(e)) return;
    seen.add(e);
    const o = e as Record<string, unknown>;
    const verdict = judge(o);
    if (verdict) found.push(verdict);
    visit(o.cause, depth + 1);
    const meta = o.meta;
    if (typeof meta === 'object' && meta !== null) visit((meta as Record<string, unknown>).driverAdapterError, depth + 1);
    if (Array.isArray(o.errors)) for (const inner of o.errors) visit(inner, depth + 1);
  };
  visit(error, 0);
  for (const kind of [DatabaseErrorKind.Unavailable, DatabaseErrorKind.LockTimeout, DatabaseErrorKind.RetryableRace]) {
    const hit = found.find((f) => f.kind === kind);
    if (hit) return hit;
  }
  return { kind: DatabaseErrorKind.Other, code: null };
}

/** True when an error means the database cannot be used right now (answer 503 with Retry-After). */
export function isDatabaseUnavailable(error: unknown): boolean {
  return classifyDatabaseError(error).kind === DatabaseErrorKind.Unavailable;
}

/**
 * Retry-After (seconds) of a 503 for a lost database. Short: a restart or a failover takes
 * seconds, and the pool reconnects on the next request, so a retry a second later often succeeds.
 */
export const UNAVAILABLE_RETRY_AFTER_SECONDS = 1;

// The front door's GraphQL binding, shared by HTTP (POST, GET, SSE) and graphql-ws: the one
// context factory, and the Envelop plugin that names the operation for the access line, maps
// every unexpected execution error to its failure (logged with the request id, then masked),
// and records the codes of the errors sent.
import { getOperationAST, GraphQLError, type DocumentNode, type GraphQLSchema } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import type { Principal } from '../auth/api-keys.js';
import { GraphQLErrorCode, type GatewayContext } from '../graphql/context.js';
import { createLoaders } from '../graphql/loaders.js';
import { isGraphQLError, withExtensions } from '../graphql/yoga.js';
import { ErrorCode } from '../lib/error-codes.js';
import { InvalidCursorError } from '../lib/cursor.js';
import { IdempotencyResult } from '../ops/metrics.js';
import type { Exchange } from './exchange.js';
import { graphqlError, type Failure } from './failures.js';
import type { FrontDoor } from './front-door.js';

/** What the HTTP server hands to Yoga with each request. */
export interface ServerContext {
  exchange: Exchange;
}

/** The one context factory (HTTP request or graphql-ws operation): caller, request id, logger, fresh DataLoaders. */
export function gatewayContext(frontDoor: FrontDoor, exchange: Exchange, principal: Principal | null): GatewayContext {
  const { services } = frontDoor;
  return { services, principal, requestId: exchange.requestId, log: exchange.log, exchange, loaders: createLoaders(services, principal) };
}

/**
 * Yoga's context over HTTP: a present key must verify and have allowance left (else the whole
 * request fails with UNAUTHENTICATED 401 / RATE_LIMITED 429 / UNAVAILABLE 503); no key at all
 * gives an anonymous context (introspection and GraphiQL work, data fields answer UNAUTHENTICATED).
 */
export async function httpContext(frontDoor: FrontDoor, exchange: Exchange, authorization: string | null): Promise<GatewayContext> {
  const admission = await frontDoor.admit(authorization, exchange);
  if (!admission.ok) throw graphqlError(admission.failure, exchange.requestId);
  return gatewayContext(frontDoor, exchange, admission.principal);
}

const isContext = (value: unknown): value is GatewayContext =>
  typeof value === 'object' && value !== null && 'exchange' in value && 'services' in value;

/**
 * An error as the client may see it, for execution results (here, with the request's logger)
 * and Yoga's last-resort masking alike. Ours (coded GraphQL errors) pass; a bad cursor, and
 * graphql-js's own uncoded errors raised before execution (no path: variable coercion), are
 * the client's input; anything else — a value of ours that failed to serialise included — is
 * a failure of the front door's kinds (503 for a lost database, else a masked 500), logged.
 */
export function toClientError(error: unknown, fail: (thrown: unknown) => Failure, requestId: string | null): GraphQLError {
  const graphql = isGraphQLError(error) ? error : null;
  const original = graphql ? graphql.originalError : error;
  if (graphql && (!original || isGraphQLError(original))) {
    if (typeof graphql.extensions.code === 'string') return graphql;
    if (!graphql.path) return withExtensions(graphql, { code: GraphQLErrorCode.BadUserInput, http: { spec: true, status: 400 } });
  }
  if (original instanceof InvalidCursorError) {
    return new GraphQLError(original.message, { path: graphql?.path, extensions: { code: GraphQLErrorCode.BadUserInput } });
  }
  return graphqlError(fail(original ?? error), requestId, graphql?.path);
}

/** toClientError for one request: failures logged with its request id. */
export function clientError(frontDoor: FrontDoor, exchange: Exchange, error: GraphQLError): GraphQLError {
  return toClientError(error, (thrown) => frontDoor.fail(thrown, exchange), exchange.requestId);
}

/** Maps the errors of one execution result (field errors keep their path and HTTP 200). */
function mapResult<R extends { errors?: readonly GraphQLError[] | undefined }>(frontDoor: FrontDoor, exchange: Exchange, result: R): R {
  if (!result.errors?.length) return result;
  const errors = result.errors.map((e) => clientError(frontDoor, exchange, e));
  exchange.noteErrors(errors);
  return { ...result, errors };
}

/** The label of the operation that runs: its name in the document (clients often send no operationName). */
function operationName(frontDoor: FrontDoor, args: { document: DocumentNode; operationName?: string | null | undefined }): string {
  return frontDoor.operationLabel(args.operationName ?? getOperationAST(args.document, args.operationName)?.name?.value);
}

/**
 * The Envelop side of the front door, for HTTP and graphql-ws alike: names the operation,
 * maps execution errors (before Yoga's last-resort masking sees them), and records the codes
 * of errors raised before execution (parse, validation, limits, context) for the access line.
 */
export function useFrontDoor(frontDoor: FrontDoor): Plugin<GatewayContext, ServerContext> {
  const executed = new WeakSet<Exchange>();
  /** An execution starts: the exchange of its context, named by the operation that runs. */
  const begin = (args: { contextValue: unknown; document: DocumentNode; operationName?: string | null | undefined }) => {
    if (!isContext(args.contextValue)) return null;
    const { exchange } = args.contextValue;
    executed.add(exchange);
    exchange.operation = operationName(frontDoor, args);
    return exchange;
  };
  return {
    onParams({ params, context }) {
      context.exchange.operation = frontDoor.operationLabel(params.operationName);
    },
    onExecute({ args }) {
      const exchange = begin(args);
      if (!exchange) return;
      return {
        onExecuteDone({ result, setResult }) {
          if (isAsyncIterable(result)) return;
          setResult(mapResult(frontDoor, exchange, result));
        },
      };
    },
    onSubscribe({ args }) {
      const exchange = begin(args);
      if (!exchange) return;
      exchange.stream = true;
      return {
        onSubscribeResult({ result, setResult }) {
          if (!isAsyncIterable(result)) setResult(mapResult(frontDoor, exchange, result));
          return { onNext: ({ result: next, setResult: setNext }) => setNext(mapResult(frontDoor, exchange, next)) };
        },
        onSubscribeError({ error, setError }) {
          if (isGraphQLError(error)) setError(clientError(frontDoor, exchange, error));
        },
      };
    },
    onResultProcess({ result, serverContext }) {
      const exchange = serverContext.exchange;
      if (executed.has(exchange) || isAsyncIterable(result)) return;
      for (const r of Array.isArray(result) ? result : [result]) exchange.noteErrors(r.errors);
    },
  };
}

/**
 * Idempotent writes that did not run, read from the mutation results (a replayed success, or
 * an IdempotencyKey*Error member): the write path stays free of metrics. Wraps the Mutation
 * fields once per schema (the schema is built once per process and shared by instances).
 */
const observed = new WeakSet<GraphQLSchema>();
export function observeIdempotentWrites(schema: GraphQLSchema): void {
  if (observed.has(schema)) return;
  observed.add(schema);
  for (const field of Object.values(schema.getMutationType()?.getFields() ?? {})) {
    const resolve = field.resolve;
    if (!resolve) continue;
    field.resolve = async (root, args, context: unknown, info) => {
      const result: unknown = await resolve(root, args, context, info);
      const outcome = idempotencyOf(result);
      if (outcome && isContext(context)) context.exchange.idempotency.push(outcome);
      return result;
    };
  }
}

function idempotencyOf(result: unknown): IdempotencyResult | null {
  if (typeof result !== 'object' || result === null) return null;
  // Read by the schema's contract (Error.code, UpsertCustomerSuccess.replayed), not by class.
  const code = 'code' in result ? result.code : undefined;
  if (code === ErrorCode.IdempotencyConflict) return IdempotencyResult.Conflict;
  if (code === ErrorCode.IdempotencyInProgress) return IdempotencyResult.InProgress;
  return 'replayed' in result && result.replayed === true ? IdempotencyResult.Replayed : null;
}

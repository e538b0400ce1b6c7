// Compiled execution of queries and mutations (graphql-jit through Envelop): a document is
// compiled once into a function that walks its selection without the reference executor's
// per-field work (the dashboard page resolves about 2,500 fields; issue 12 measured a third less
// CPU per page; an upsert's payload is some 25 fields, resolved again on every replay).
// graphql-jit runs a mutation's root fields one after the other, as the spec demands (its
// `serialExecution` for mutation operations). Subscriptions keep the reference executor: their
// path has its own per-event execution (shared-subscriptions.ts).
import { useGraphQlJit } from '@envelop/graphql-jit';
import {
  getOperationAST,
  getVariableValues,
  GraphQLError,
  OperationTypeNode,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type Source,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { GatewayContext } from './context.js';

/** Where a jit error points: graphql-jit records line and column, not the AST nodes. */
interface JitLocation {
  line: number;
  column: number;
}

/** The offset in `source` of a (1-based) line and column, as GraphQLError's `positions` wants it. */
function offsetOf(source: Source, { line, column }: JitLocation): number {
  let offset = 0;
  for (let l = 1; l < line; l++) {
    const next = source.body.indexOf('\n', offset);
    if (next < 0) break;
    offset = next + 1;
  }
  return offset + column - 1;
}

/**
 * graphql-jit's errors are look-alikes of graphql-js's (its own constructor on GraphQLError's
 * prototype) with no `extensions` object and `locations` instead of nodes or positions. The
 * front door, Yoga's masking and its serialiser read errors as graphql-js builds them, so
 * each one is rebuilt as a real GraphQLError: same message, path, original error, extensions
 * and locations (as positions in the document's source). graphql-js's own errors pass as they are.
 */
function asGraphQLError(error: GraphQLError, document: DocumentNode): GraphQLError {
  if (error.extensions !== undefined && Object.getPrototypeOf(error) === GraphQLError.prototype) return error;
  const source = document.loc?.source;
  const locations: readonly JitLocation[] = error.locations ?? [];
  return new GraphQLError(error.message, {
    path: error.path,
    originalError: error.originalError ?? undefined,
    extensions: error.extensions ?? undefined,
    ...(source && locations.length ? { source, positions: locations.map((l) => offsetOf(source, l)) } : {}),
  });
}

/**
 * Executions of a document before it is compiled. Compiling costs more than one interpreted
 * execution, so a document sent once (a one-off, or a stream of distinct documents meant to
 * keep the compiler busy) never pays it; a dashboard's documents are compiled on their second use.
 */
export const COMPILE_AFTER_USES = 1;

/** The operations that run compiled once hot. */
const COMPILED_OPERATIONS: ReadonlySet<OperationTypeNode> = new Set([OperationTypeNode.QUERY, OperationTypeNode.MUTATION]);

/**
 * Hot queries and mutations run compiled, each document compiled once (cached by the document object, which
 * Yoga's parse cache hands out again, and counted the same way). Register it first: its errors
 * are rebuilt before any other plugin (the front door's mapping) reads the result.
 */
export function useCompiledExecution(): Plugin<GatewayContext> {
  const jit = useGraphQlJit();
  const uses = new WeakMap<DocumentNode, number>();
  return {
    onExecute(payload) {
      // Envelop types the arguments `any` (it serves several graphql versions); they are graphql-js 16's.
      const args: ExecutionArgs = payload.args;
      const { document, operationName, schema, variableValues } = args;
      const operation = getOperationAST(document, operationName);
      if (!operation || !COMPILED_OPERATIONS.has(operation.operation)) return;
      const used = uses.get(document) ?? 0;
      if (used < COMPILE_AFTER_USES) {
        uses.set(document, used + 1);
        return;
      }
      // Variables that do not coerce are left to the reference executor, whose messages clients
      // already see (graphql-jit words them differently); a cheap check when there are none.
      if (
        operation.variableDefinitions?.length &&
        'errors' in getVariableValues(schema, operation.variableDefinitions, variableValues ?? {})
      ) {
        return;
      }
      // The jit plugin's onExecute only swaps the execute function in; it returns no hooks to await.
      void jit.onExecute?.(payload);
      return {
        onExecuteDone({ result, setResult }) {
          // A query's or mutation's result is one ExecutionResult (no @defer/@stream here); a stream passes as it is.
          if (Symbol.asyncIterator in result) return;
          const single: ExecutionResult = result;
          if (!single.errors?.length) return;
          setResult({ ...single, errors: single.errors.map((e) => asGraphQLError(e, document)) });
        },
      };
    },
  };
}

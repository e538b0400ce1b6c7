// GraphQL cost limits (SPEC section 9), all checked before execution, so before the context
// (key check, rate limit) and before any database work, on every transport (HTTP POST and
// GET, SSE, and graphql-ws, whose server.ts path runs the same Envelop parse and validate):
//   - while parsing: the document's size in bytes, then its tokens (graphql-armor's lexer);
//   - while validating: depth, aliases and directives (graphql-armor rules) and variable
//     definitions. These depend on the document alone, so Yoga's validation cache keeps them;
//   - after validating: the computed cost (@pothos/plugin-complexity, with the field costs of
//     builder.ts). It depends on the request's variables (`first: $n`), so it runs after the
//     cached validation, never inside it; a cost found within the limit is remembered for the
//     document and the values of the variables the cost reads (COST_ARGUMENT), so a hot
//     document (an upsert, whose variables differ every time) is costed once, not per request.
// A rejected document gets HTTP 400 and an `extensions.code` naming the limit.
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import { MaxTokensParserWLexer } from '@escape.tech/graphql-armor-max-tokens';
import { createComplexityRule } from '@pothos/plugin-complexity';
import {
  GraphQLError,
  validate,
  visit,
  type DocumentNode,
  type GraphQLSchema,
  type parse,
  type Source,
  type ValidationRule,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { GraphQLLimits } from '../config.js';
import { COST_ARGUMENT } from './builder.js';
import { GraphQLErrorCode } from './context.js';

type LimitCode =
  | typeof GraphQLErrorCode.MaxDepthExceeded
  | typeof GraphQLErrorCode.MaxAliasesExceeded
  | typeof GraphQLErrorCode.MaxTokensExceeded
  | typeof GraphQLErrorCode.MaxDirectivesExceeded
  | typeof GraphQLErrorCode.MaxVariablesExceeded
  | typeof GraphQLErrorCode.DocumentTooLarge
  | typeof GraphQLErrorCode.MaxCostExceeded;

const LIMIT_CODES: ReadonlySet<unknown> = new Set<LimitCode>([
  GraphQLErrorCode.MaxDepthExceeded,
  GraphQLErrorCode.MaxAliasesExceeded,
  GraphQLErrorCode.MaxTokensExceeded,
  GraphQLErrorCode.MaxDirectivesExceeded,
  GraphQLErrorCode.MaxVariablesExceeded,
  GraphQLErrorCode.DocumentTooLarge,
  GraphQLErrorCode.MaxCostExceeded,
]);
const isLimitCode = (code: unknown): code is LimitCode => LIMIT_CODES.has(code);

/** A rejected document: HTTP 400 whatever the Accept header (`spec: false`), code naming the limit. */
export function limitError(code: LimitCode, message: string, limit: number): GraphQLError {
  return new GraphQLError(message, { extensions: { code, limit, http: { status: 400, spec: false } } });
}

/** The GraphQL answer to a body over GRAPHQL_MAX_BODY_BYTES (HTTP 413), refused before the document is read. */
export function bodyTooLargeResult(maxBytes: number): { errors: { message: string; extensions: Record<string, unknown> }[] } {
  return {
    errors: [
      {
        message: `The request body must not exceed ${maxBytes} bytes.`,
        extensions: { code: GraphQLErrorCode.RequestTooLarge, limit: maxBytes },
      },
    ],
  };
}

/** graphql-armor reports through callbacks; ours throws at once, which stops the parse or the validation there. */
function rejectWith(code: LimitCode, limit: number) {
  return [
    (_ctx: unknown, error: GraphQLError): never => {
      throw limitError(code, error.message.replace(/^Syntax Error: /, ''), limit);
    },
  ];
}

/** Variable definitions of an operation (graphql-armor has no rule for them). */
function maxVariablesRule(max: number): ValidationRule {
  return () => ({
    OperationDefinition(node) {
      const count = node.variableDefinitions?.length ?? 0;
      if (count > max) {
        throw limitError(GraphQLErrorCode.MaxVariablesExceeded, `Variables limit of ${max} exceeded, found ${count}.`, max);
      }
    },
  });
}

/** What the request carries besides the document; Yoga and our graphql-ws path both put it in the context. */
interface RequestParams {
  params?: { variables?: Record<string, unknown> | null; operationName?: string | null };
}

/** Costs found within the limit for one document (the cache holds no more per document). */
const MAX_PASSED_COSTS_PER_DOCUMENT = 64;

/** What the cost check remembers of one document. */
interface DocumentCost {
  /** The variables the cost reads: those given to a COST_ARGUMENT anywhere in the document. */
  variables: readonly string[];
  /** Operations in the document. */
  operations: number;
  /** Keys (costKey) whose cost was computed and found within the limit. */
  passed: Set<string>;
}

function documentCost(document: DocumentNode): DocumentCost {
  const variables = new Set<string>();
  let operations = 0;
  visit(document, {
    OperationDefinition() {
      operations += 1;
    },
    Argument(node) {
      if (node.name.value !== COST_ARGUMENT) return;
      visit(node.value, {
        Variable(v) {
          variables.add(v.name.value);
        },
      });
    },
  });
  return { variables: [...variables], operations, passed: new Set() };
}

/** The request's part of a cost: the operation chosen and the values of the variables the cost reads (absent ≠ null). */
function costKey(cost: DocumentCost, operationName: string | undefined, values: Readonly<Record<string, unknown>>): string {
  const parts = cost.variables.map((name) => (Object.hasOwn(values, name) ? String(JSON.stringify(values[name])) : ''));
  return `${operationName ?? ''}\n${parts.join('\n')}`;
}

/** The Envelop plugins enforcing `limits`, in the order they must run. */
export function operationLimitPlugins(limits: GraphQLLimits): Plugin<RequestParams>[] {
  const tokenLimit = { n: limits.maxTokens, onReject: rejectWith(GraphQLErrorCode.MaxTokensExceeded, limits.maxTokens) };
  const rules: ValidationRule[] = [
    maxDepthRule({ n: limits.maxDepth, onReject: rejectWith(GraphQLErrorCode.MaxDepthExceeded, limits.maxDepth) }),
    maxAliasesRule({ n: limits.maxAliases, onReject: rejectWith(GraphQLErrorCode.MaxAliasesExceeded, limits.maxAliases) }),
    maxDirectivesRule({
      n: limits.maxDirectives,
      onReject: rejectWith(GraphQLErrorCode.MaxDirectivesExceeded, limits.maxDirectives),
    }),
    maxVariablesRule(limits.maxVariables),
  ];

  const parsing: Plugin<RequestParams> = {
    // Envelop types graphql-js values `any` (it serves several graphql versions); the
    // annotations below are graphql-js 16's types for them, so the hook is checked.
    onParse({ params: { source }, setParseFn }: { params: { source: string | Source }; setParseFn: (fn: typeof parse) => void }) {
      const bytes = Buffer.byteLength(typeof source === 'string' ? source : source.body);
      if (bytes > limits.maxDocumentBytes) {
        throw limitError(
          GraphQLErrorCode.DocumentTooLarge,
          `Document size limit of ${limits.maxDocumentBytes} bytes exceeded, found ${bytes}.`,
          limits.maxDocumentBytes,
        );
      }
      setParseFn((text, options) => {
        try {
          return new MaxTokensParserWLexer(text, { ...options, ...tokenLimit }).parseDocument();
        } catch (error) {
          // graphql-js parses recursively: a selection nested some thousand levels deep
          // overflows the stack before the depth rule could see it (possible only when
          // GRAPHQL_MAX_TOKENS is raised far above its default).
          if (error instanceof RangeError) {
            throw limitError(GraphQLErrorCode.MaxDepthExceeded, 'The document is nested too deeply to parse.', limits.maxDepth);
          }
          throw error;
        }
      });
    },
  };

  const structure: Plugin<RequestParams> = {
    onValidate({ addValidationRule }) {
      for (const rule of rules) addValidationRule(rule);
    },
  };

  // By the document object, which Yoga's parse cache hands out again for the same text.
  const costs = new WeakMap<DocumentNode, DocumentCost>();
  const cost: Plugin<RequestParams> = {
    onValidate({
      context,
      params: { schema, documentAST },
    }: {
      context: Readonly<RequestParams>;
      params: { schema: GraphQLSchema; documentAST: DocumentNode };
    }) {
      return ({ valid }) => {
        if (!valid) return;
        const variableValues = context.params?.variables ?? {};
        const operationName = context.params?.operationName ?? undefined;
        let cost = costs.get(documentAST);
        if (!cost) {
          cost = documentCost(documentAST);
          costs.set(documentAST, cost);
        }
        const key = costKey(cost, operationName, variableValues);
        if (cost.passed.has(key)) return;
        let over: GraphQLError | undefined;
        let costed = 0;
        validate(schema, documentAST, [
          createComplexityRule({
            context: {},
            variableValues,
            operationName,
            // Other findings of the rule (bad variables) are left to execution to report, as before.
            validate: ({ complexity }) => {
              costed += 1;
              if (complexity > limits.maxCost) {
                over = limitError(
                  GraphQLErrorCode.MaxCostExceeded,
                  `Query cost limit of ${limits.maxCost} exceeded, found ${complexity}.`,
                  limits.maxCost,
                );
              }
            },
          }),
        ]);
        // Thrown, not set as the validation result: Yoga's validation cache (a later hook)
        // would otherwise store it for the document, whatever the next request's variables.
        if (over) throw over;
        // Remembered only when every operation concerned was costed: an operation whose
        // variables did not coerce was not, and must be costed when they do.
        if (costed === (operationName === undefined ? cost.operations : 1)) {
          if (cost.passed.size >= MAX_PASSED_COSTS_PER_DOCUMENT) cost.passed.clear();
          cost.passed.add(key);
        }
      };
    },
  };

  // Yoga marks every parse error as a GraphQL-over-HTTP "spec" error, which it answers with
  // 200 to application/json clients; a document refused by a limit is a 400 for every client.
  const badRequest: Plugin<RequestParams> = {
    onResultProcess({ result }) {
      if (Array.isArray(result) || !('errors' in result)) return;
      for (const error of result.errors ?? []) {
        const http = error.extensions.http;
        if (isLimitCode(error.extensions.code) && typeof http === 'object' && http !== null) Object.assign(http, { spec: false });
      }
    },
  };

  return [badRequest, parsing, structure, cost];
}

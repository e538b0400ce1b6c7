// Schema builder configuration only: plugins, scalars, context and auth scopes, empty root
// types. Domain types live in one file per domain under ./schema.
import SchemaBuilder from '@pothos/core';
import ComplexityPlugin, { type FieldComplexityValue } from '@pothos/plugin-complexity';
import ErrorsPlugin from '@pothos/plugin-errors';
import PrismaPlugin from '@pothos/plugin-prisma';
import RelayPlugin from '@pothos/plugin-relay';
import ScopeAuthPlugin, { AuthScopeFailureType, type AuthFailure } from '@pothos/plugin-scope-auth';
import { getNullableType, GraphQLError, GraphQLScalarType, isListType, Kind, type GraphQLOutputType } from 'graphql';
import { isScope, Scope } from '../auth/scopes.js';
import type PrismaTypes from '../generated/pothos-prisma-types.js';
import { getDatamodel } from '../generated/pothos-prisma-types.js';
import { parseTimestamp, TIMESTAMP_FORMAT } from '../lib/time.js';
import { graphqlError } from '../front-door/failures.js';
import { GraphQLErrorCode, type GatewayContext } from './context.js';

type AuthScopes = { [S in Scope]: boolean } & { authenticated: boolean };

export const builder = new SchemaBuilder<{
  Context: GatewayContext;
  PrismaTypes: PrismaTypes;
  AuthScopes: AuthScopes;
  DefaultFieldNullability: false;
  Scalars: {
    // Output: a Date, or an instant already rendered by toISOString (the public projection's
    // timestamps), passed through rather than parsed back into a Date and formatted again.
    DateTime: { Input: Date; Output: Date | string };
    ID: { Input: string; Output: string };
  };
}>({
  plugins: [ScopeAuthPlugin, ErrorsPlugin, PrismaPlugin, RelayPlugin, ComplexityPlugin],
  defaultFieldNullability: false,
  complexity: {
    fieldComplexity: (args, _ctx, field) => fieldCost(args, field.type),
    // The limit is enforced before execution, at validation (graphql/limits.ts), so that a
    // rejected document never reaches the context (key check, rate limit) or a resolver.
    disabled: true,
  },
  scopeAuth: {
    authorizeOnSubscribe: true,
    authScopes: (ctx) => {
      const has = (s: Scope) => ctx.principal?.scopes.includes(s) ?? false;
      return {
        authenticated: ctx.principal !== null,
        [Scope.CustomersRead]: has(Scope.CustomersRead),
        [Scope.CustomersWrite]: has(Scope.CustomersWrite),
        [Scope.AmlRead]: has(Scope.AmlRead),
        [Scope.ComplianceWrite]: has(Scope.ComplianceWrite),
        [Scope.WebhooksManage]: has(Scope.WebhooksManage),
      };
    },
    // No key → UNAUTHENTICATED (HTTP 401); a key without the scope → FORBIDDEN naming it: the
    // front door's failures, rendered as GraphQL errors.
    unauthorizedError: (_parent, ctx, _info, result) => {
      if (ctx.principal === null) return graphqlError({ kind: 'unauthenticated', reason: 'missing' }, ctx.requestId);
      const scope = requiredScope(result.failure);
      if (scope) return graphqlError({ kind: 'forbidden', scope }, ctx.requestId);
      return new GraphQLError(`Forbidden: ${result.message}`, { extensions: { code: GraphQLErrorCode.Forbidden } });
    },
  },
  errors: { defaultTypes: [] },
  prisma: {
    // The client is only used by plugin-prisma to type and to batch relation loads; every
    // resolver receives the instance's client through the context.
    client: (ctx) => ctx.services.db.prisma,
    dmmf: getDatamodel(),
    exposeDescriptions: false,
    filterConnectionTotalCount: true,
    onUnusedQuery: process.env.NODE_ENV === 'production' ? null : 'warn',
  },
  relay: {
    clientMutationId: 'omit',
    cursorType: 'String',
    nodeQueryOptions: false,
    nodesQueryOptions: false,
  },
});

/** The scope a scope-auth failure names (every field here asks for one scope), or null. */
function requiredScope(failure: AuthFailure): Scope | null {
  if (failure.kind === AuthScopeFailureType.AuthScope && isScope(failure.scope)) return failure.scope;
  if (failure.kind === AuthScopeFailureType.AnyAuthScopes || failure.kind === AuthScopeFailureType.AllAuthScopes) {
    for (const inner of failure.failures) {
      const scope = requiredScope(inner);
      if (scope) return scope;
    }
  }
  return null;
}

/** Cost of a list whose size the page argument does not say: assumed to hold this many items. */
const UNPAGED_LIST_MULTIPLIER = 10;

/**
 * The one argument a field's cost reads (fieldCost): the cost of a document depends on the
 * request's variables only through the variables given to it (graphql/limits.ts caches by them).
 */
export const COST_ARGUMENT = 'first';

/**
 * A field costs 1, plus its sub-selection multiplied by how many times it runs: `first` for a
 * paged field (every connection: the rows it may read), 10 for any other list, else 1.
 * Connection `edges` say `multiplier: 1` themselves (CONNECTION_EDGES_COST), as their
 * connection already counted `first`.
 */
function fieldCost(args: Record<string, unknown>, type: GraphQLOutputType): FieldComplexityValue {
  const first = args[COST_ARGUMENT];
  if (typeof first === 'number') return { field: 1, multiplier: Math.max(first, 0) };
  return isListType(getNullableType(type)) ? { field: 1, multiplier: UNPAGED_LIST_MULTIPLIER } : 1;
}

/** Complexity of a connection's `edges`: its connection field already multiplied by `first`. */
export const CONNECTION_EDGES_COST = { field: 1, multiplier: 1 } as const;

/** The output form exactly, as Date#toISOString writes it for the years PostgreSQL stores here. */
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** ISO-8601 UTC timestamps with a `Z` (SPEC section 3). */
builder.addScalarType(
  'DateTime',
  new GraphQLScalarType<Date | string, string>({
    name: 'DateTime',
    description:
      'An ISO-8601 timestamp, answered in UTC (e.g. 2026-01-31T12:00:00.000Z). Accepted as YYYY-MM-DD or YYYY-MM-DDThh:mm[:ss[.sss]] with Z or ±hh:mm (UTC when the zone is left out), between 0001-01-01 and 9999-12-31.',
    serialize: (value) => {
      if (value instanceof Date) {
        if (Number.isNaN(value.getTime())) throw new GraphQLError('DateTime cannot represent an invalid date');
        return value.toISOString();
      }
      // The gateway's own rendered instants (PublicAml, PublicCustomer) are already in the output form.
      if (typeof value === 'string' && ISO_INSTANT.test(value)) return value;
      const d = new Date(String(value));
      if (Number.isNaN(d.getTime())) throw new GraphQLError('DateTime cannot represent an invalid date');
      return d.toISOString();
    },
    parseValue: (value) => parseDate(value),
    parseLiteral: (ast) => {
      if (ast.kind !== Kind.STRING) {
        throw new GraphQLError(`DateTime must be ${TIMESTAMP_FORMAT}`, { extensions: { code: GraphQLErrorCode.BadUserInput } });
      }
      return parseDate(ast.value);
    },
  }),
  {},
);

/** A client's DateTime: the one timestamp grammar and range of lib/time.ts (what PostgreSQL stores). */
function parseDate(value: unknown): Date {
  const d = typeof value === 'string' ? parseTimestamp(value) : null;
  if (!d) throw new GraphQLError(`DateTime must be ${TIMESTAMP_FORMAT}`, { extensions: { code: GraphQLErrorCode.BadUserInput } });
  return d;
}

builder.queryType({
  description:
    'Reads. Every field needs an API key (Authorization: Bearer <key>) and acts for its organisation only; each field names the scope it needs. A field that fails (e.g. FORBIDDEN) is null, with its error in `errors`; the other fields still resolve.',
});
builder.mutationType({
  description:
    'Writes. Expected failures are returned as typed errors in each result union (they implement Error). A mutation is null only when it could not run (e.g. FORBIDDEN, with its error in `errors`); the next mutation of the document still runs.',
});
builder.subscriptionType({
  description: 'Live status changes, over graphql-ws (WebSocket at /graphql, key in connection_init) or Server-Sent Events.',
});

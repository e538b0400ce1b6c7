// Schema builder configuration only: plugins, scalars, context and auth scopes, empty root
// types. Domain types live in one file per domain under ./schema.
import SchemaBuilder from '@pothos/core';
import ErrorsPlugin from '@pothos/plugin-errors';
import PrismaPlugin from '@pothos/plugin-prisma';
import RelayPlugin from '@pothos/plugin-relay';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import { GraphQLError, GraphQLScalarType, Kind } from 'graphql';
import { Scope } from '../auth/scopes.js';
import type PrismaTypes from '../generated/pothos-prisma-types.js';
import { getDatamodel } from '../generated/pothos-prisma-types.js';
import { PrismaClient } from '../generated/prisma/client.js';
import { GraphQLErrorCode, unauthenticated, type GatewayContext } from './context.js';

type AuthScopes = { [S in Scope]: boolean } & { authenticated: boolean };

export const builder = new SchemaBuilder<{
  Context: GatewayContext;
  PrismaTypes: PrismaTypes;
  AuthScopes: AuthScopes;
  DefaultFieldNullability: false;
  Scalars: {
    DateTime: { Input: Date; Output: Date };
    ID: { Input: string; Output: string };
  };
}>({
  plugins: [ScopeAuthPlugin, ErrorsPlugin, PrismaPlugin, RelayPlugin],
  defaultFieldNullability: false,
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
    // No key → UNAUTHENTICATED (HTTP 401); a key without the scope → FORBIDDEN.
    unauthorizedError: (_parent, ctx, _info, result) =>
      ctx.principal === null
        ? unauthenticated()
        : new GraphQLError(`Forbidden: ${result.message}`, { extensions: { code: GraphQLErrorCode.Forbidden } }),
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

// Keep PrismaClient referenced for the plugin's type inference.
export type { PrismaClient };

/** ISO-8601 UTC timestamps with a `Z` (SPEC section 3). */
builder.addScalarType(
  'DateTime',
  new GraphQLScalarType<Date, string>({
    name: 'DateTime',
    description: 'An ISO-8601 timestamp in UTC, e.g. 2026-01-31T12:00:00.000Z.',
    serialize: (value) => {
      const d = value instanceof Date ? value : new Date(String(value));
      if (Number.isNaN(d.getTime())) throw new GraphQLError('DateTime cannot represent an invalid date');
      return d.toISOString();
    },
    parseValue: (value) => parseDate(value),
    parseLiteral: (ast) => {
      if (ast.kind !== Kind.STRING) throw new GraphQLError('DateTime must be an ISO-8601 string');
      return parseDate(ast.value);
    },
  }),
  {},
);

function parseDate(value: unknown): Date {
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2}))?$/.test(value)) {
    throw new GraphQLError('DateTime must be an ISO-8601 string', { extensions: { code: GraphQLErrorCode.BadUserInput } });
  }
  const d = new Date(value);
  if (Number.isNaN(d.getTime()))
    throw new GraphQLError('DateTime is not a valid date', { extensions: { code: GraphQLErrorCode.BadUserInput } });
  return d;
}

builder.queryType({});
builder.mutationType({});
builder.subscriptionType({});

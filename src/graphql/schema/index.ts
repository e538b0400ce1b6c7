// Imports every domain file of the schema and builds it. Printing schema.graphql is a
// script (codegen.ts), never a side effect of importing this module.
import { lexicographicSortSchema, type GraphQLSchema } from 'graphql';
import { builder } from '../builder.js';
import './errors.js';
import './viewer.js';
import './customer.js';
import './upsert.js';
import './lifecycle.js';
import './subscription.js';
import './webhooks.js';

let schema: GraphQLSchema | undefined;

/** The executable schema, built once per process. */
export function buildSchema(): GraphQLSchema {
  schema ??= builder.toSchema({ sortSchema: false });
  return schema;
}

/** The schema as committed in schema.graphql: sorted so that diffs stay readable. */
export function sortedSchema(): GraphQLSchema {
  return lexicographicSortSchema(buildSchema());
}

// ESLint lints two things, each with its own command:
// - the TypeScript of src/, test/, scripts/ and bench/ (`npm run lint`) with typescript-eslint's
//   type-aware rules (recommendedTypeChecked);
// - the generated schema.graphql (`npm run lint:api`) with the schema rules of @graphql-eslint, all
//   of them, plus the Relay set.
// Every rule switched off or narrowed below says why next to it.
import tseslint from '@customer-gateway/eslint-typescript';
import graphqlPlugin from '@graphql-eslint/eslint-plugin';
import { defineConfig } from 'eslint/config';

export default defineConfig([
  // Generated code (Prisma client, REST types), build output, and the dashboard page (its own
  // tsconfig with the DOM library; `npm run typecheck` checks it).
  { ignores: ['src/generated/**', 'test/generated/**', 'dist/**', 'web/**', 'node_modules/**'] },
  {
    files: ['src/**/*.ts', 'test/**/*.ts', 'scripts/**/*.ts', 'bench/**/*.ts'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // A leading underscore marks what a signature or a loop needs but the body does not use
      // (`for (const _ of text)`, `(_parent, args)`), the convention the code already follows.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // Tests read the API's answers as JSON (`await res.json()`, GraphQL `data`), which is `any`,
      // and state the shape they expect with vitest's assertions: those are the check. Typing every
      // payload by hand would restate the schema in each test without checking anything more.
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    files: ['schema.graphql'],
    languageOptions: {
      parser: graphqlPlugin.parser,
      parserOptions: { graphQLConfig: { schema: 'schema.graphql' } },
    },
    plugins: { '@graphql-eslint': graphqlPlugin },
    rules: {
      ...graphqlPlugin.configs['flat/schema-all'].rules,
      ...graphqlPlugin.configs['flat/schema-relay'].rules,

      // Integrators read the schema in GraphiQL's docs: every type, field, argument, input value
      // and enum value carries a description (schema-recommended asks for types and root fields only).
      '@graphql-eslint/require-description': [
        'error',
        {
          types: true,
          rootField: true,
          FieldDefinition: true,
          InputValueDefinition: true,
          EnumValueDefinition: true,
          DirectiveDefinition: true,
        },
      ],

      // Off: the order of schema.graphql is the printer's (graphql-js lexicographicSortSchema,
      // code-point order: `customerStats` before `customers`), and `npm run schema:check` fails
      // when the file drifts from it. This rule sorts with localeCompare, which disagrees on mixed case.
      '@graphql-eslint/alphabetize': 'off',

      // Pagination is forward-only (SPEC section 7: `first`, `after`); `last` / `before` are not
      // offered, so only the forward pair is required (and checked).
      '@graphql-eslint/relay-arguments': ['error', { includeBoth: false }],

      // Edges must be named *Edge and carry `cursor` and `node`. Not required: a `Node`
      // interface on the node type (the schema has no global `node(id)` refetch; `customer(id)`
      // is the refetch), and edges-only lists (short bounded lists such as the per-status counts,
      // the key's scopes or the field errors are not paginated collections).
      '@graphql-eslint/relay-edge-types': [
        'error',
        { withEdgeSuffix: true, shouldImplementNode: false, listTypeCanWrapOnlyEdgeType: false },
      ],

      // Entities carry `id: ID!` (Customer, CustomerEvent, Organization). Value objects that only
      // exist inside their parent have no identity of their own: connections and edges, results
      // and errors, status moves and counts, and the embedded blocks named below.
      '@graphql-eslint/strict-id-in-types': [
        'error',
        {
          acceptedIdNames: ['id'],
          acceptedIdTypes: ['ID'],
          exceptions: {
            suffixes: ['Connection', 'Edge', 'Error', 'Success', 'Change', 'Count'],
            types: ['Actor', 'AmlFlags', 'CustomerAml', 'CustomerStats', 'PageInfo', 'VerifiedIdentity', 'Viewer'],
          },
        },
      ],

      // Off: SPEC section 7 fixes the mutation arguments (`upsertCustomer(input, idempotencyKey)`,
      // `updateCustomer(id, input, idempotencyKey)`, `transitionKyc(id, to, identity)`,
      // `recordAmlScreening(id, status, flags)`), not one `input` argument per mutation.
      '@graphql-eslint/input-name': 'off',

      // Off: this rule is for read-only schemas; mutations and the status subscription are the
      // product (SPEC sections 4, 5 and 7).
      '@graphql-eslint/no-root-type': 'off',
    },
  },
]);

// `npm run codegen`: prints the sorted schema to schema.graphql. The schema is built from the
// code (Pothos); this file is the only place that writes it.
import type { CodegenConfig } from '@graphql-codegen/cli';
import { printSchema } from 'graphql';
import { sortedSchema } from './src/graphql/schema/index.js';

const config: CodegenConfig = {
  schema: printSchema(sortedSchema()),
  generates: {
    'schema.graphql': { plugins: ['schema-ast'], config: { includeDirectives: false, sort: true } },
  },
  silent: true,
};

export default config;

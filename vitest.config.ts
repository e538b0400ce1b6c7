// Every suite runs against PGlite; when DATABASE_URL (or TEST_DATABASE_URL) names a
// PostgreSQL server, every suite runs a second time against it (concurrency suites only
// there, since PGlite serialises everything). Two workers: the machines have two cores.
import { defineConfig } from 'vitest/config';

const pgUrl = process.env.TEST_DATABASE_URL || process.env.DATABASE_URL;

export default defineConfig({
  // graphql 16 has no "exports": Node (and so every dependency: yoga, pothos, graphql-ws)
  // loads its CommonJS main, while Vite would pick the "module" build for our sources; two
  // copies break `instanceof GraphQLError` (maskError then masks FORBIDDEN). One copy.
  resolve: { alias: [{ find: /^graphql$/, replacement: 'graphql/index.js' }] },
  test: {
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    include: ['test/**/*.test.ts'],
    projects: [
      { extends: true, test: { name: 'pglite', env: { TEST_DB_KIND: 'pglite', DATABASE_URL: '' } } },
      ...(pgUrl
        ? [
            {
              extends: true as const,
              test: {
                name: 'postgres',
                env: { TEST_DB_KIND: 'postgres', TEST_DATABASE_URL: pgUrl, DATABASE_URL: '' },
                globalSetup: ['test/helpers/pg-global-setup.ts'],
              },
            },
          ]
        : []),
    ],
  },
});

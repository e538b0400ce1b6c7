// Prisma CLI configuration. The gateway itself never uses the CLI at run time: it migrates
// through the WebAssembly schema engine (src/db/migrate.ts). The CLI is used for
// `prisma generate` only, offline (see scripts/prisma-generate.mjs).
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
});

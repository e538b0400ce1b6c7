// Migrations through Prisma's schema engine compiled to WebAssembly, bound to our own driver
// adapter: the native engine cannot be downloaded on offline machines, and this path applies
// the same `prisma/migrations` folder and keeps Prisma's `_prisma_migrations` table, so a
// deployment that can run `prisma migrate deploy` sees the same history.
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bindMigrationAwareSqlAdapterFactory, type SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import type { MigrationList, SchemaEngine } from '@prisma/schema-engine-wasm';

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const SCHEMA_PATH = join(projectRoot, 'prisma/schema.prisma');
export const MIGRATIONS_DIR = join(projectRoot, 'prisma/migrations');
const LOCKFILE = 'migration_lock.toml';

/** The engine's JavaScript glue: its classes, and the imports its wasm instance calls back into. */
type EngineModule = typeof import('@prisma/schema-engine-wasm/schema_engine_bg');
let engineModule: Promise<EngineModule> | undefined;

/**
 * Loads the engine's wasm bytes ourselves: its package imports the `.wasm` as an ES module,
 * which Node 20 only allows behind --experimental-wasm-modules.
 */
function loadEngineModule(): Promise<EngineModule> {
  engineModule ??= (async () => {
    const bindings = await import('@prisma/schema-engine-wasm/schema_engine_bg');
    const require = createRequire(import.meta.url);
    const wasmPath = join(dirname(require.resolve('@prisma/schema-engine-wasm')), 'schema_engine_bg.wasm');
    const module = new WebAssembly.Module(readFileSync(wasmPath));
    const instance = new WebAssembly.Instance(module, {
      './schema_engine_bg.js': wasmImports(bindings),
    });
    bindings.__wbg_set_wasm(instance.exports);
    (instance.exports.__wbindgen_start as () => void)();
    return bindings;
  })();
  return engineModule;
}

/** The functions a glue module exports, as the import object its wasm instance links against. */
function wasmImports(glue: EngineModule): WebAssembly.ModuleImports {
  const imports: WebAssembly.ModuleImports = {};
  for (const [name, value] of Object.entries(glue)) if (typeof value === 'function') imports[name] = value;
  return imports;
}

/** Reads `prisma/migrations` in Prisma's folder format. */
export function readMigrations(dir = MIGRATIONS_DIR): MigrationList {
  const lockPath = join(dir, LOCKFILE);
  const folders = existsSync(dir)
    ? readdirSync(dir, { withFileTypes: true })
        .filter((d) => d.isDirectory())
        .map((d) => d.name)
        .sort()
    : [];
  return {
    baseDir: dir,
    lockfile: { path: LOCKFILE, content: existsSync(lockPath) ? readFileSync(lockPath, 'utf8') : null },
    shadowDbInitScript: '',
    migrationDirectories: folders.map((name) => {
      const file = join(dir, name, 'migration.sql');
      return {
        path: name,
        migrationFile: {
          path: 'migration.sql',
          content: existsSync(file)
            ? { tag: 'ok' as const, value: readFileSync(file, 'utf8') }
            : { tag: 'error' as const, value: `${file} not found` },
        },
      };
    }),
  };
}

async function withEngine<T>(factory: SqlMigrationAwareDriverAdapterFactory, run: (engine: SchemaEngine) => Promise<T>): Promise<T> {
  const { SchemaEngine } = await loadEngineModule();
  const schema = readFileSync(SCHEMA_PATH, 'utf8');
  const engine = await SchemaEngine.new({ datamodels: [[SCHEMA_PATH, schema]] }, () => {}, bindMigrationAwareSqlAdapterFactory(factory));
  try {
    return await run(engine);
  } finally {
    engine.free();
  }
}

const NO_FILTERS = { externalTables: [], externalEnums: [] };

/** Applies every migration not yet applied; returns the names of those it applied. */
export async function applyMigrations(factory: SqlMigrationAwareDriverAdapterFactory): Promise<string[]> {
  return withEngine(factory, async (engine) => {
    const out = await engine.applyMigrations({ migrationsList: readMigrations(), filters: NO_FILTERS });
    return out.appliedMigrationNames;
  });
}

/**
 * The SQL that takes a database from the committed migrations to `schema.prisma`, or null
 * when they agree. The shadow database is the factory's (an in-memory PGlite for the CLI).
 */
export async function diffSchemaAgainstMigrations(factory: SqlMigrationAwareDriverAdapterFactory): Promise<string | null> {
  return withEngine(factory, async (engine) => {
    const schema = readFileSync(SCHEMA_PATH, 'utf8');
    const migrations = readMigrations();
    const from = migrations.migrationDirectories.length > 0 ? { tag: 'migrations', ...migrations } : ({ tag: 'empty' } as const);
    const result = await engine.diff({
      from,
      to: { tag: 'schemaDatamodel', files: [{ path: SCHEMA_PATH, content: schema }] },
      script: true,
      exitCode: true,
      filters: NO_FILTERS,
    } as Parameters<SchemaEngine['diff']>[0]);
    const sql = result.stdout?.trim() ?? '';
    return sql === '' || /^-- This is an empty migration\.?$/.test(sql) ? null : `${sql}\n`;
  });
}

// For the PostgreSQL project: migrates one template database per run; each test file then
// gets its own copy (CREATE DATABASE … TEMPLATE), which takes milliseconds.
import pg from 'pg';
import { openDatabase } from '../../src/db/client.js';
import { applyMigrations } from '../../src/db/migrate.js';
import type { TestProject } from 'vitest/node';

export function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

export default async function setup(project: TestProject) {
  const base = process.env.TEST_DATABASE_URL || process.env.DATABASE_URL;
  if (!base) throw new Error('the postgres test project needs TEST_DATABASE_URL or DATABASE_URL');
  // Names carry the pid of this vitest run so that concurrent runs on one server leave each
  // other alone, and leftovers of killed runs (dead pid) can be dropped.
  const run = `${process.pid}`;
  const template = `cg_tpl_${run}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  // Leftovers of runs that were killed before their teardown.
  const stale = await admin.query<{ datname: string }>("SELECT datname FROM pg_database WHERE datname ~ '^cg_t(pl)?_[0-9]+'");
  for (const { datname } of stale.rows) {
    const pid = Number(/^cg_t(?:pl)?_(\d+)/.exec(datname)?.[1]);
    if (!isAlive(pid)) await admin.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`).catch(() => {});
  }
  await admin.query(`CREATE DATABASE "${template}"`);
  const db = await openDatabase({ kind: 'postgres', url: withDatabase(base, template), poolSize: 2 });
  await applyMigrations(db.adapterFactory);
  await db.close();
  project.provide('pgTemplate', template);
  project.provide('pgRun', run);
  return async () => {
    const dbs = await admin.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname LIKE $1', [`cg\\_t\\_${run}\\_%`]);
    for (const { datname } of dbs.rows) await admin.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`).catch(() => {});
    await admin.query(`DROP DATABASE IF EXISTS "${template}" WITH (FORCE)`);
    await admin.end();
  };
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

declare module 'vitest' {
  export interface ProvidedContext {
    pgTemplate: string;
    pgRun: string;
  }
}

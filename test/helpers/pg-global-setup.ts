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
  const template = `cg_tpl_${process.pid}_${Date.now().toString(36)}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  // Leftovers of runs that were killed before their teardown.
  const stale = await admin.query<{ datname: string }>(
    "SELECT datname FROM pg_database WHERE datname LIKE 'cg\\_t%' AND NOT datistemplate",
  );
  for (const { datname } of stale.rows) await admin.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`).catch(() => {});
  await admin.query(`CREATE DATABASE "${template}"`);
  const db = await openDatabase({ kind: 'postgres', url: withDatabase(base, template), poolSize: 2 });
  await applyMigrations(db.adapterFactory);
  await db.close();
  project.provide('pgTemplate', template);
  return async () => {
    const dbs = await admin.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname LIKE $1', [`cg_t%${process.pid}%`]);
    for (const { datname } of dbs.rows) await admin.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`).catch(() => {});
    await admin.query(`DROP DATABASE IF EXISTS "${template}" WITH (FORCE)`);
    await admin.end();
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    pgTemplate: string;
  }
}

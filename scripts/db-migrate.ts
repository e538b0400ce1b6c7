// `npm run db:migrate`: applies pending migrations to the configured database.
import { loadConfig } from '../src/config.js';
import { openMigratedDatabase, targetOf } from '../src/db/open.js';

const { db, applied } = await openMigratedDatabase(targetOf(loadConfig()));
await db.close();
console.log(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');

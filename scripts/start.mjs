// `npm start` (`exec node scripts/start.mjs`): builds dist/ when it is missing or older than
// the sources, then runs the compiled gateway IN THIS PROCESS. No wrapper stands between the
// signal and the gateway (npm forwards SIGTERM to its child, and `exec` replaced the shell),
// so a graceful shutdown is never cut short by a wrapper's SIGKILL (SPEC section 9).
// With WEB_CONCURRENCY > 1 (PostgreSQL) this process becomes the cluster's primary and its
// workers are forked from this same script (src/cluster.ts); the signal still reaches the primary
// directly, and it forwards it to every worker.
import { ensureBuilt } from './build.mjs';

try {
  ensureBuilt();
} catch (error) {
  process.stderr.write(`customer-gateway cannot start: ${error instanceof Error ? error.message : error}\n`);
  process.exit(1);
}
await import('../dist/main.js');

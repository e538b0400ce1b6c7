// `npm start` (`exec node scripts/start.mjs`): builds dist/ when it is missing or older than
// the sources, then runs the compiled gateway IN THIS PROCESS. No wrapper stands between the
// signal and the gateway (npm forwards SIGTERM to its child, and `exec` replaced the shell),
// so a graceful shutdown is never cut short by a wrapper's SIGKILL (SPEC section 9).
import { ensureBuilt } from './build.mjs';

try {
  ensureBuilt();
} catch (error) {
  process.stderr.write(`customer-gateway cannot start: ${error instanceof Error ? error.message : error}\n`);
  process.exit(1);
}
await import('../dist/main.js');

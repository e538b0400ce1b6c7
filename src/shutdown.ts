// The graceful shutdown of one process (SPEC section 9), shared by src/main.ts and the
// benchmark's gateway process: drain the connections within the timeout minus a reserve, then
// close the services, the database pool and the trace exporter.
import type { Database } from './db/client.js';
import type { Tracing } from './ops/tracing.js';
import type { ServerHandle } from './server.js';
import type { Services } from './services.js';

/** Time kept, out of SHUTDOWN_TIMEOUT_MS, to close the services and the database pool after the drain. */
export function closeReserveMs(shutdownTimeoutMs: number): number {
  return Math.min(2000, Math.floor(shutdownTimeoutMs / 5));
}

/** Drains the server (graceful: idle keep-alive connections get their grace), then closes the rest. */
export async function shutDown(
  parts: { server: ServerHandle; services: Services; db: Database; tracing: Tracing },
  shutdownTimeoutMs: number,
): Promise<void> {
  // Connections get the timeout minus a reserve for closing the services and the pool.
  await parts.server.close({ graceful: true, timeoutMs: shutdownTimeoutMs - closeReserveMs(shutdownTimeoutMs) });
  await parts.services.close();
  await parts.db.close();
  // Spans of the last requests are exported before the process exits.
  await parts.tracing.shutdown().catch(() => {});
}

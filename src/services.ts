// The long-lived parts of one gateway instance, built once at start and shared by every
// request (GraphQL over HTTP and WebSocket, REST). Nothing here is per request.
import { ApiKeyVerifier } from './auth/api-keys.js';
import type { Config } from './config.js';
import type { Database, Tx } from './db/client.js';
import { startIdempotencyPurge } from './idempotency/store.js';
import { createLogger, type Logger } from './lib/log.js';

/**
 * Test-only hooks (empty in production). `insideWriteTransaction` runs inside a customer write
 * transaction just before it commits, so a test can pause it, or kill its connection, there.
 */
export interface TestHooks {
  insideWriteTransaction?: (tx: Tx) => Promise<void>;
}

export interface Services {
  config: Config;
  db: Database;
  log: Logger;
  keys: ApiKeyVerifier;
  /** The clock used by every rule that depends on time (injectable in tests). */
  now: () => Date;
  /** Empty unless a test sets one (mutable on purpose). */
  testHooks: TestHooks;
  /** Stops background work owned by the services (not the database). */
  close(): Promise<void>;
}

export interface ServicesOptions {
  log?: Logger;
  now?: () => Date;
}

/** Wires the services of one instance over an open, migrated database. */
export function createServices(config: Config, db: Database, options: ServicesOptions = {}): Services {
  const now = options.now ?? (() => new Date());
  const log = options.log ?? createLogger(config.logLevel);
  const keys = new ApiKeyVerifier(db.prisma, config.apiKeyCacheMs, () => now().getTime());
  const purge = startIdempotencyPurge(db.prisma, now, log);
  return {
    config,
    db,
    log,
    keys,
    now,
    testHooks: {},
    async close() {
      await purge.stop();
    },
  };
}

// The long-lived parts of one gateway instance, built once at start and shared by every
// request (GraphQL over HTTP and WebSocket, REST). Nothing here is per request.
import { ApiKeyVerifier } from './auth/api-keys.js';
import type { Config } from './config.js';
import type { Database } from './db/client.js';
import { EventBus } from './events/bus.js';
import { startRetentionPurge } from './events/retention.js';
import { createLogger, type Logger } from './lib/log.js';

export interface Services {
  config: Config;
  db: Database;
  log: Logger;
  keys: ApiKeyVerifier;
  /** Status changes for subscriptions; starts with the first subscriber. */
  bus: EventBus;
  /** The clock used by every rule that depends on time (injectable in tests). */
  now: () => Date;
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
  const bus = new EventBus(db, { bufferSize: config.subscriptionBufferSize, retentionDays: config.eventRetentionDays, now, log });
  const stopPurge = startRetentionPurge(db.prisma, config.eventRetentionDays, now, log);
  return {
    config,
    db,
    log,
    keys,
    bus,
    now,
    async close() {
      stopPurge();
      await bus.close();
    },
  };
}

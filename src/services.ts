// The long-lived parts of one gateway instance, built once at start and shared by every
// request (GraphQL over HTTP and WebSocket, REST). Nothing here is per request.
import { ApiKeyVerifier } from './auth/api-keys.js';
import { RateLimiter } from './auth/rate-limit.js';
import type { Config } from './config.js';
import type { Database, Tx } from './db/client.js';
import { EventBus } from './events/bus.js';
import { EVENT_PURGE_INTERVAL_MS, purgeExpiredEvents } from './events/retention.js';
import { IDEMPOTENCY_PURGE_INTERVAL_MS, purgeExpiredKeys } from './idempotency/store.js';
import { createLogger, type Logger } from './ops/logger.js';
import { createWebhooks, type Webhooks } from './webhooks/index.js';
import { DELIVERY_LOG_DAYS, purgeFinishedDeliveries } from './webhooks/queue.js';

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
  rateLimiter: RateLimiter;
  /** Status changes for subscriptions; starts with the first subscriber. */
  bus: EventBus;
  /** Webhook endpoints and this instance's sender (started here, stopped by close()). */
  webhooks: Webhooks;
  /** The clock used by every rule that depends on time (injectable in tests). */
  now: () => Date;
  /** Empty unless a test sets one (mutable on purpose). */
  testHooks: TestHooks;
  /** Periodic housekeeping (purges); stopped by close(). */
  background: BackgroundTasks;
  /** Stops background work owned by the services (not the database). */
  close(): Promise<void>;
}

export interface ServicesOptions {
  log?: Logger;
  now?: () => Date;
  /** Randomness of the webhook backoff jitter (tests pin it). */
  random?: () => number;
}

/** Wires the services of one instance over an open, migrated database. */
export function createServices(config: Config, db: Database, options: ServicesOptions = {}): Services {
  const now = options.now ?? (() => new Date());
  const log = options.log ?? createLogger(config.logLevel);
  const keys = new ApiKeyVerifier(db.prisma, config.apiKeyCacheMs, () => now().getTime());
  const rateLimiter = new RateLimiter(db.prisma, { perMinute: config.rateLimitPerMinute, perDay: config.rateLimitPerDay }, () =>
    now().getTime(),
  );
  const bus = new EventBus(db, { bufferSize: config.subscriptionBufferSize, retentionDays: config.eventRetentionDays, now, log });
  const webhooks = createWebhooks(config, db, { now, log, ...(options.random ? { random: options.random } : {}) });
  webhooks.start();
  const background = new BackgroundTasks(log);
  background.every('rate-limit purge', 60 * 60_000, () => rateLimiter.purge());
  background.every('idempotency key purge', IDEMPOTENCY_PURGE_INTERVAL_MS, () => purgeExpiredKeys(db.prisma, now()));
  // Webhook housekeeping belongs to the instances that send (WEBHOOK_CONCURRENCY > 0).
  if (webhooks.sender) {
    background.every('webhook delivery log purge', EVENT_PURGE_INTERVAL_MS, () =>
      purgeFinishedDeliveries(db.prisma, new Date(now().getTime() - DELIVERY_LOG_DAYS * 86_400_000)),
    );
  }
  // Events are the audit trail: purged only when a retention is configured.
  if (config.eventRetentionDays !== null) {
    const days = config.eventRetentionDays;
    background.every('event retention purge', EVENT_PURGE_INTERVAL_MS, () => purgeExpiredEvents(db.prisma, days, now()));
  }
  return {
    config,
    db,
    log,
    keys,
    rateLimiter,
    bus,
    webhooks,
    now,
    testHooks: {},
    background,
    async close() {
      await background.stop();
      await bus.close();
      await webhooks.close();
    },
  };
}

/**
 * Periodic housekeeping of one instance. Each task runs once soon after start, then every
 * `intervalMs`; a run never overlaps the previous one, and failures are logged, not thrown.
 * Every instance runs them: the tasks are idempotent deletes, so duplicates are harmless.
 */
export class BackgroundTasks {
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly running = new Set<Promise<unknown>>();
  private stopped = false;

  constructor(private readonly log: Logger) {}

  every(name: string, intervalMs: number, task: () => Promise<unknown>): void {
    let busy = false;
    const run = () => {
      if (busy || this.stopped) return;
      busy = true;
      const p = task()
        .catch((error: unknown) => this.log.warn({ task: name, error: String(error) }, 'background task failed'))
        .finally(() => {
          busy = false;
          this.running.delete(p);
        });
      this.running.add(p);
    };
    const first = setTimeout(run, Math.min(intervalMs, 5_000));
    const timer = setInterval(run, intervalMs);
    first.unref();
    timer.unref();
    this.timers.add(first).add(timer);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.timers.clear();
    await Promise.allSettled([...this.running]);
  }
}

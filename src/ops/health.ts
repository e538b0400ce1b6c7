// Health endpoints (SPEC section 12): GET /livez (the process serves; /healthz is its alias)
// and GET /readyz, 200 only while every readiness check passes, else 503 naming the failing
// ones. The checks:
// - `database`: one bounded statement answers. It reads the applied migrations, so the same
//   round trip also feeds `migrations`. Its result is cached for a second and concurrent
//   probes share one statement, so a flood of probes costs the database one query a second.
// - `migrations`: every migration this build ships is applied (they are applied at start; a
//   database restored from an older backup fails it).
// - `listener`: the LISTEN connection of live subscriptions and webhooks is not down (`idle`
//   before the first subscriber is fine: there is nothing to listen for yet).
// - `accepting`: fails from the moment the drain starts (SIGTERM).
import { existsSync, readdirSync } from 'node:fs';
import type { Database } from '../db/client.js';
import { MIGRATIONS_DIR } from '../db/migrate.js';
import { ErrorCode } from '../lib/error-codes.js';
import { RestError } from '../rest/errors.js';
import type { Logger } from './logger.js';

export const LIVENESS_PATHS: readonly string[] = ['/livez', '/healthz'];
export const READINESS_PATH = '/readyz';

/** The names of the readiness checks, as /readyz reports them. */
export const ReadinessCheckName = {
  Database: 'database',
  Migrations: 'migrations',
  Listener: 'listener',
  Accepting: 'accepting',
} as const;

/** One readiness check: `ready()` resolves true when that part of the gateway can serve. */
export interface ReadinessCheck {
  name: string;
  ready(): boolean | Promise<boolean>;
}

export type CheckStatus = 'ok' | 'failing';

/** How long one database probe result is reused. */
export const DATABASE_PROBE_CACHE_MS = 1_000;
/** A probe not answered within this fails (the statement is bounded by statement_timeout too). */
export const DATABASE_PROBE_TIMEOUT_MS = 2_000;

/** The answer of GET /readyz: status and body (the REST envelope when not ready). */
export async function readiness(checks: readonly ReadinessCheck[]): Promise<{ status: number; body: unknown }> {
  const results = await Promise.all(
    checks.map(async (c): Promise<[string, CheckStatus]> => {
      try {
        return [c.name, (await c.ready()) ? 'ok' : 'failing'];
      } catch {
        return [c.name, 'failing'];
      }
    }),
  );
  const statuses = Object.fromEntries(results);
  const failing = results.filter(([, s]) => s === 'failing').map(([name]) => name);
  if (failing.length === 0) return { status: 200, body: { status: 'ok', checks: statuses } };
  const error = new RestError(ErrorCode.Unavailable, `Not ready: ${failing.join(', ')}.`, { failing, checks: statuses });
  return { status: error.status, body: error.body() };
}

/** The migration folders this build ships (read once). */
function shippedMigrations(): string[] {
  if (!existsSync(MIGRATIONS_DIR)) return [];
  return readdirSync(MIGRATIONS_DIR, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name);
}

interface Probe {
  at: number;
  /** Applied migration names; null when the database did not answer. */
  applied: ReadonlySet<string> | null;
}

/**
 * The database probe behind `database` and `migrations`: one bounded statement, cached for
 * DATABASE_PROBE_CACHE_MS, shared by concurrent callers.
 */
export class DatabaseProbe {
  private last: Probe | null = null;
  private running: Promise<Probe> | null = null;
  private readonly expected = shippedMigrations();

  constructor(
    private readonly db: Database,
    private readonly log: Logger,
    private readonly cacheMs = DATABASE_PROBE_CACHE_MS,
  ) {}

  /** The latest probe, fresh within the cache period. */
  probe(): Promise<Probe> {
    if (this.last && Date.now() - this.last.at < this.cacheMs) return Promise.resolve(this.last);
    this.running ??= this.run().finally(() => (this.running = null));
    return this.running;
  }

  private async run(): Promise<Probe> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('database probe timed out')), DATABASE_PROBE_TIMEOUT_MS);
    });
    let applied: ReadonlySet<string> | null;
    try {
      const rows = await Promise.race([
        this.db.prisma.$queryRaw<{ name: string }[]>`
          SELECT migration_name AS name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`,
        timeout,
      ]);
      applied = new Set(rows.map((r) => r.name));
    } catch (error) {
      this.log.warn({ err: error }, 'readiness: the database probe failed');
      applied = null;
    } finally {
      clearTimeout(timer);
    }
    this.last = { at: Date.now(), applied };
    return this.last;
  }

  /** The database answered. */
  async answers(): Promise<boolean> {
    return (await this.probe()).applied !== null;
  }

  /** Every shipped migration is applied (false while the database does not answer). */
  async migrated(): Promise<boolean> {
    const { applied } = await this.probe();
    return applied !== null && this.expected.every((m) => applied.has(m));
  }
}

/** The readiness checks of an instance. */
export function readinessChecks(db: Database, log: Logger, accepting: () => boolean): ReadinessCheck[] {
  const probe = new DatabaseProbe(db, log);
  return [
    { name: ReadinessCheckName.Database, ready: () => probe.answers() },
    { name: ReadinessCheckName.Migrations, ready: () => probe.migrated() },
    { name: ReadinessCheckName.Listener, ready: () => db.listenerStatus().state !== 'disconnected' },
    { name: ReadinessCheckName.Accepting, ready: accepting },
  ];
}

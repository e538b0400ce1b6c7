// Retention of the customer event log (SPEC section 5: kept at least 7 days, configurable).
import type { PrismaClient } from '../db/client.js';
import type { Logger } from '../lib/log.js';

const PURGE_BATCH = 5000;
/** First purge shortly after start, then hourly: the log only needs day precision. */
const FIRST_PURGE_MS = 10_000;
const PURGE_EVERY_MS = 3_600_000;

/** Deletes events that occurred before `cutoff`, in bounded batches; returns how many. */
export async function purgeEventsBefore(prisma: PrismaClient, cutoff: Date): Promise<number> {
  let total = 0;
  for (;;) {
    // Small batches keep each transaction short (no long lock on a busy table).
    const n = await prisma.$executeRaw`
      DELETE FROM customer_events WHERE id IN (
        SELECT id FROM customer_events WHERE occurred_at < ${cutoff} ORDER BY occurred_at LIMIT ${PURGE_BATCH})`;
    total += n;
    if (n < PURGE_BATCH) return total;
  }
}

/** Runs the purge in the background; returns its stopper. */
export function startRetentionPurge(prisma: PrismaClient, retentionDays: number, now: () => Date, log: Logger): () => void {
  const run = () => {
    const cutoff = new Date(now().getTime() - retentionDays * 86_400_000);
    purgeEventsBefore(prisma, cutoff).then(
      (n) => n > 0 && log.info('purged expired customer events', { count: n, retentionDays }),
      (error) => log.warn('event purge failed', { error: String((error as Error)?.message ?? error) }),
    );
  };
  let every: NodeJS.Timeout | undefined;
  const first = setTimeout(() => {
    run();
    every = setInterval(run, PURGE_EVERY_MS);
    every.unref();
  }, FIRST_PURGE_MS);
  first.unref();
  return () => {
    clearTimeout(first);
    if (every) clearInterval(every);
  };
}

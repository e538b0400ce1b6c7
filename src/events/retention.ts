// Retention of the customer event log (SPEC section 5: kept at least 7 days, configurable).
import type { PrismaClient } from '../db/client.js';

const PURGE_BATCH = 5000;
/** Hourly (services.background): the log only needs day precision. */
export const EVENT_PURGE_INTERVAL_MS = 3_600_000;

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

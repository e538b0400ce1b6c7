// Retention of the customer event log. The log is the audit trail (SPEC section 11: who moved
// a status, and when, for years), so it is kept by default; EVENT_RETENTION_DAYS (at least 7,
// SPEC section 5) turns the purge on.
import type { PrismaClient } from '../db/client.js';
import { MS_PER_DAY, MS_PER_HOUR } from '../lib/duration.js';

const PURGE_BATCH = 5000;
/** Hourly (services.background): the log only needs day precision. */
export const EVENT_PURGE_INTERVAL_MS = MS_PER_HOUR;

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

/** The instant before which events are purged, or null when they are kept (no retention set). */
export function retentionCutoff(retentionDays: number | null, now: Date): Date | null {
  return retentionDays === null ? null : new Date(now.getTime() - retentionDays * MS_PER_DAY);
}

/** Applies the configured retention: purges older events when one is set; returns how many. */
export async function purgeExpiredEvents(prisma: PrismaClient, retentionDays: number | null, now: Date): Promise<number> {
  const cutoff = retentionCutoff(retentionDays, now);
  return cutoff === null ? 0 : purgeEventsBefore(prisma, cutoff);
}

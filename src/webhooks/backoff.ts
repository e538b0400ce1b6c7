// When a failed delivery is tried again (SPEC section 10): exponential backoff with jitter,
// for 24 hours, then the delivery is failed. Pure, with the randomness injectable for tests.

/** How long after it is queued a delivery keeps being retried. */
export const RETRY_WINDOW_MS = 24 * 3_600_000;
/** Delay after the first failed attempt; doubled after each further one. */
export const FIRST_RETRY_MS = 5_000;
/** Longest delay between two attempts (reached after 10 failures, ~1.4 h in). */
export const MAX_RETRY_MS = 3_600_000;
/** Jitter: each delay is drawn from ±20 % of the nominal one, so that retries of many deliveries spread out. */
export const JITTER = 0.2;

/** The nominal delay after `failures` failed attempts (1, 2, …): 5 s, 10 s, 20 s, … capped at 1 h. */
export function nominalDelay(failures: number): number {
  return Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.min(30, Math.max(0, failures - 1)));
}

/** The jittered delay after `failures` failed attempts; `random` in [0, 1). */
export function retryDelay(failures: number, random: () => number = Math.random): number {
  return Math.round(nominalDelay(failures) * (1 - JITTER + 2 * JITTER * random()));
}

/**
 * The next attempt `delayMs` after a failure at `now`, or null when the delivery is out of
 * time. The last attempt is made at the deadline itself, so retries really last 24 hours.
 */
export function nextAttempt(delayMs: number, now: Date, deadline: Date): Date | null {
  if (now.getTime() >= deadline.getTime()) return null;
  return new Date(Math.min(now.getTime() + delayMs, deadline.getTime()));
}

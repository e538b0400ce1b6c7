// Reconnection delays: exponential with full jitter (a uniform draw below the cap), so that
// many dashboards cut off by one gateway restart do not all come back in the same instant.

export const BACKOFF_BASE_MS = 500;
export const BACKOFF_CAP_MS = 15_000;

/** The delay before reconnection attempt `attempt` (1, 2, …). */
export function backoffDelay(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * ceiling);
}

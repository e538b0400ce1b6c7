// Per-key rate limits shared by every instance (SPEC section 2) without a database write per
// request: each instance leases tokens from the shared window counter in chunks (a twentieth
// of the limit) and spends them locally. The sum of leases never exceeds the limit, so
// instances cannot multiply it; tokens leased but unspent by an instance when its window
// ends are the only loss (at most a chunk per instance: 5 % of the limit each).
import type { PrismaClient } from '../db/client.js';
import type { Principal } from './api-keys.js';

export const RateWindow = {
  Minute: { name: 'minute', seconds: 60 },
  Day: { name: 'day', seconds: 86_400 },
} as const;
type Window = (typeof RateWindow)[keyof typeof RateWindow];

/** Fraction of the limit an instance leases at a time. */
const LEASE_FRACTION = 1 / 20;

export type RateDecision = { allowed: true } | { allowed: false; limit: number; windowSeconds: number; retryAfterSeconds: number };

interface WindowState {
  start: number;
  tokens: number;
  /** The shared counter is exhausted for this window: refuse without asking again. */
  exhausted: boolean;
  leasing?: Promise<void>;
}

export interface RateLimiterDefaults {
  perMinute: number;
  perDay: number;
}

export class RateLimiter {
  private readonly state = new Map<string, WindowState>();

  constructor(
    private readonly prisma: PrismaClient,
    private readonly defaults: RateLimiterDefaults,
    private readonly now: () => number = Date.now,
  ) {}

  /** Spends one request of the key's minute and day allowances, or says when to retry. */
  async take(principal: Principal): Promise<RateDecision> {
    const windows: [Window, number][] = [
      [RateWindow.Minute, principal.perMinute ?? this.defaults.perMinute],
      [RateWindow.Day, principal.perDay ?? this.defaults.perDay],
    ];
    for (const [window, limit] of windows) {
      const ok = await this.takeFrom(principal.keyId, window, limit);
      if (!ok) {
        const start = this.windowStart(window);
        const retryAfterSeconds = Math.max(1, Math.ceil((start + window.seconds * 1000 - this.now()) / 1000));
        return { allowed: false, limit, windowSeconds: window.seconds, retryAfterSeconds };
      }
    }
    return { allowed: true };
  }

  private windowStart(window: Window): number {
    const ms = window.seconds * 1000;
    return Math.floor(this.now() / ms) * ms;
  }

  private async takeFrom(keyId: string, window: Window, limit: number): Promise<boolean> {
    const id = `${keyId}:${window.name}`;
    const start = this.windowStart(window);
    let s = this.state.get(id);
    if (!s || s.start !== start) {
      s = { start, tokens: 0, exhausted: false };
      this.state.set(id, s);
      if (this.state.size > 50_000) this.evictOld();
    }
    // Concurrent requests of one key share one lease round trip.
    while (s.tokens <= 0 && !s.exhausted) {
      s.leasing ??= this.lease(keyId, window, s, limit).finally(() => {
        s.leasing = undefined;
      });
      await s.leasing;
    }
    if (s.tokens <= 0) return false;
    s.tokens -= 1;
    return true;
  }

  private async lease(keyId: string, window: Window, s: WindowState, limit: number): Promise<void> {
    const want = Math.max(1, Math.floor(limit * LEASE_FRACTION));
    // One statement: the conflict path locks the row, so concurrent leases of all instances
    // serialise and their grants never add up past the limit. SET sees the old row, which is
    // how the grant (new - old) comes back.
    const rows = await this.prisma.$queryRaw<{ granted: number }[]>`
      INSERT INTO rate_limit_windows AS w (key_id, "window", window_start, used, last_grant)
      VALUES (${keyId}::uuid, ${window.name}, ${new Date(s.start)}, LEAST(${want}::int, ${limit}::int), LEAST(${want}::int, ${limit}::int))
      ON CONFLICT (key_id, "window", window_start) DO UPDATE
        SET used = LEAST(${limit}::int, w.used + ${want}::int),
            last_grant = GREATEST(0, LEAST(${limit}::int, w.used + ${want}::int) - w.used)
      RETURNING last_grant AS granted`;
    const granted = Number(rows[0]?.granted ?? 0);
    if (granted <= 0) s.exhausted = true;
    else s.tokens += granted;
  }

  private evictOld(): void {
    const dayStart = this.windowStart(RateWindow.Day);
    for (const [id, s] of this.state) if (s.start < dayStart - RateWindow.Minute.seconds * 1000) this.state.delete(id);
  }

  /** Deletes shared windows that ended more than a day ago (called by the background sweeper). */
  async purge(): Promise<number> {
    return this.prisma.rateLimitWindow
      .deleteMany({ where: { windowStart: { lt: new Date(this.now() - 2 * RateWindow.Day.seconds * 1000) } } })
      .then((r) => r.count);
  }
}

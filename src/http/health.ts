// Health endpoints (SPEC section 12): GET /livez (the process serves; /healthz is its alias)
// and GET /readyz (200 only while every readiness check passes; 503 naming the failing ones).
// A check is a name and a probe; server.ts passes the list. Checks of the database, the
// migrations and the event listener are to join the shutdown one here.
import { ErrorCode } from '../lib/error-codes.js';
import { RestError } from '../rest/errors.js';

export const LIVENESS_PATHS: readonly string[] = ['/livez', '/healthz'];
export const READINESS_PATH = '/readyz';

/** One readiness check: `ready()` resolves true when that part of the gateway can serve. */
export interface ReadinessCheck {
  name: string;
  ready(): boolean | Promise<boolean>;
}

export type CheckStatus = 'ok' | 'failing';

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

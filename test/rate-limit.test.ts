// Per-key rate limits (SPEC section 2): per minute and per day, shared across instances
// without multiplying the limit, and without a database write per request.
import { describe, expect, it } from 'vitest';
import { Scope } from '../src/auth/scopes.js';
import { dbKind, onPostgres } from './helpers/db.js';
import { useGateway } from './helpers/fixture.js';

const VIEWER = '{ viewer { scopes } }';
// A frozen clock in the middle of a minute: no test can straddle a window boundary.
const frozen = new Date(Math.floor(Date.now() / 60_000) * 60_000 + 30_000);
const now = () => frozen;

describe(`rate limits (${dbKind})`, () => {
  const ctx = useGateway({ poolSize: 6, now });

  it('over the per-minute limit: RATE_LIMITED with HTTP 429, Retry-After and the limit', async () => {
    const { key } = await ctx.org([Scope.CustomersRead], { perMinute: 5 });
    for (let i = 0; i < 5; i++) expect((await ctx.gw.gql(key, VIEWER)).status).toBe(200);
    const res = await ctx.gw.gql(key, VIEWER);
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('30');
    expect(res.body.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED', limit: 5, windowSeconds: 60 });
  });

  it('keys without their own limits get the defaults from the environment', async () => {
    const strict = await ctx.extraGateway({ now, env: { RATE_LIMIT_PER_MINUTE: '3' } });
    const { key } = await ctx.org([Scope.CustomersRead]);
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await strict.gql(key, VIEWER)).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
  });

  it('the per-day limit applies too, and keys do not share allowances', async () => {
    const { key, name: org } = await ctx.org([Scope.CustomersRead], { perDay: 3 });
    const { key: other } = await ctx.keyFor(org, [Scope.CustomersRead], { perDay: 3 });
    for (let i = 0; i < 3; i++) expect((await ctx.gw.gql(key, VIEWER)).status).toBe(200);
    const res = await ctx.gw.gql(key, VIEWER);
    expect(res.status).toBe(429);
    expect(res.body.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED', limit: 3, windowSeconds: 86400 });
    expect((await ctx.gw.gql(other, VIEWER)).status).toBe(200);
  });

  it('costs no database write per request: tokens are leased in chunks', async () => {
    const { key } = await ctx.org([Scope.CustomersRead], { perMinute: 1000, perDay: 100_000 });
    const leases: string[] = [];
    const stop = ctx.db.onQuery((sql) => {
      // Leases only: the hourly purge of old windows (first run 5 s after start) may land here.
      if (/INSERT INTO rate_limit_windows/.test(sql)) leases.push(sql);
    });
    try {
      for (let i = 0; i < 40; i++) expect((await ctx.gw.gql(key, VIEWER)).status).toBe(200);
    } finally {
      stop();
    }
    // One lease per window (50 of the minute's 1000, 5000 of the day's) covers all 40.
    expect(leases).toHaveLength(2);
  });

  describe.runIf(onPostgres)('across instances', () => {
    it('two instances do not multiply the limit (within 10 %)', async () => {
      const second = await ctx.extraGateway({ ownPool: 4, now });
      const { key } = await ctx.org([Scope.CustomersRead], { perMinute: 40 });
      const statuses = await Promise.all(
        Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? ctx.gw : second).gql(key, VIEWER).then((r) => r.status)),
      );
      const admitted = statuses.filter((s) => s === 200).length;
      expect(statuses.filter((s) => s !== 200 && s !== 429)).toEqual([]);
      expect(admitted).toBeLessThanOrEqual(40);
      expect(admitted).toBeGreaterThanOrEqual(36);
    });
  });
});

// Round trips, not only results: a dashboard page costs a constant number of SQL statements,
// and COUNT runs only when totalCount is selected.
import { beforeAll, describe, expect, it } from 'vitest';
import { Scope } from '../src/auth/scopes.js';
import { dbKind } from './helpers/db.js';
import { useGateway } from './helpers/fixture.js';

const DASHBOARD = `query Dashboard($first: Int!) {
  customers(first: $first) {
    edges { node { id externalId fullName email kycStatus kycStartedAt identity { verifiedLegalName verifiedCountry }
      aml { status screenedAt lastReviewedAt flags { pep sanctions adverseMedia terrorism } } addedVia createdAt updatedAt } }
    pageInfo { hasNextPage endCursor }
  }
}`;

describe(`query cost (${dbKind})`, () => {
  const ctx = useGateway({ poolSize: 4 });
  let key: string;

  beforeAll(async () => {
    const issued = await ctx.org([Scope.CustomersRead]);
    key = issued.key;
    await ctx.db.prisma.customer.createMany({
      data: Array.from({ length: 120 }, (_, i) => ({
        orgId: issued.orgId,
        externalId: `cost-${i}`,
        fullName: `Cost ${i}`,
        kycStatus: i % 3 === 0 ? ('VERIFIED' as const) : ('PENDING' as const),
        verifiedLegalName: i % 3 === 0 ? `Legal ${i}` : null,
        verifiedCountry: i % 3 === 0 ? 'DEU' : null,
      })),
    });
    await ctx.gw.gql(key, '{ viewer { scopes } }'); // warm the key cache
  });

  async function statementsOf(query: string, variables: Record<string, unknown>) {
    const sql: string[] = [];
    const stop = ctx.db.onQuery((s) => sql.push(s));
    try {
      const res = await ctx.gw.gql(key, query, variables);
      expect(res.body.errors).toBeUndefined();
      // Only the request's own statements: not key checks (the key and its organisation, read
      // again whenever the 500 ms cache entry expires mid-test), rate-limit leases, or background
      // purges and bus polls that may land in the window on a loaded machine.
      return {
        sql: sql.filter(
          (s) => !/api_keys|organizations|rate_limit_windows|idempotency_keys|DELETE FROM customer_events|pg_current_snapshot/.test(s),
        ),
        data: res.body.data,
      };
    } finally {
      stop();
    }
  }

  it('a page of 100 with nested aml and identity is at most 3 statements, whatever the page size', async () => {
    const big = await statementsOf(DASHBOARD, { first: 100 });
    expect(big.data.customers.edges).toHaveLength(100);
    expect(big.data.customers.edges.filter((e: any) => e.node.identity !== null).length).toBeGreaterThan(0);
    expect(big.sql.length).toBeGreaterThanOrEqual(1); // the recorder sees the page query
    expect(big.sql.length).toBeLessThanOrEqual(3);
    const small = await statementsOf(DASHBOARD, { first: 5 });
    expect(small.sql.length).toBe(big.sql.length);
  });

  it('runs COUNT only when totalCount is selected', async () => {
    const without = await statementsOf(DASHBOARD, { first: 10 });
    expect(without.sql.some((s) => /COUNT\(/i.test(s))).toBe(false);
    const withCount = await statementsOf('query { customers(first: 10) { totalCount edges { cursor } } }', {});
    expect(withCount.data.customers.totalCount).toBe(120);
    expect(withCount.sql.filter((s) => /COUNT\(/i.test(s))).toHaveLength(1);
  });
});

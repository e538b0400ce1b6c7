// PageInfo follows the Relay connection spec on both connections (customers and
// Customer.statusHistory): startCursor / endCursor are the first and last edge cursors (null on an
// empty page), hasNextPage says more follow, and hasPreviousPage is true exactly when the page was
// asked for `after` a cursor (pagination is forward-only).
import { describe, expect, it } from 'vitest';
import { Scope } from '../src/auth/scopes.js';
import { seedCustomer, verify } from './helpers/customers.js';
import { dbKind } from './helpers/db.js';
import { useGateway } from './helpers/fixture.js';

const ctx = useGateway();

interface Page {
  edges: { cursor: string; node: { id: string } }[];
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
}

const PAGE_INFO = 'pageInfo { hasNextPage hasPreviousPage startCursor endCursor }';

describe(`PageInfo (${dbKind})`, () => {
  it('customers: cursors of the first and last edge; hasPreviousPage only after a cursor', async () => {
    const { key, orgId } = await ctx.org([Scope.CustomersRead]);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await seedCustomer(ctx.db, orgId)).id);

    const page = async (first: number, after?: string | null): Promise<Page> => {
      const res = await ctx.gw.gql<{ customers: Page }>(
        key,
        `query($first: Int!, $after: String) { customers(first: $first, after: $after) { edges { cursor node { id } } ${PAGE_INFO} } }`,
        { first, after },
      );
      expect(res.body.errors).toBeUndefined();
      return res.body.data!.customers;
    };

    const first = await page(2);
    expect(first.edges.map((e) => e.node.id)).toEqual(ids.slice(0, 2));
    expect(first.pageInfo).toEqual({
      hasNextPage: true,
      hasPreviousPage: false,
      startCursor: first.edges[0]!.cursor,
      endCursor: first.edges[1]!.cursor,
    });

    const second = await page(2, first.pageInfo.endCursor);
    expect(second.edges.map((e) => e.node.id)).toEqual(ids.slice(2, 4));
    expect(second.pageInfo).toEqual({
      hasNextPage: true,
      hasPreviousPage: true,
      startCursor: second.edges[0]!.cursor,
      endCursor: second.edges[1]!.cursor,
    });

    const last = await page(2, second.pageInfo.endCursor);
    expect(last.edges.map((e) => e.node.id)).toEqual(ids.slice(4));
    expect(last.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: true });

    // Past the end: an empty page has no cursors, yet it still continues an earlier one.
    const empty = await page(2, last.pageInfo.endCursor);
    expect(empty.edges).toEqual([]);
    expect(empty.pageInfo).toEqual({ hasNextPage: false, hasPreviousPage: true, startCursor: null, endCursor: null });

    // An explicit null `after` is a first page.
    expect((await page(1, null)).pageInfo.hasPreviousPage).toBe(false);
  });

  it('statusHistory: the same rules on the event log, newest first', async () => {
    const { key, orgId } = await ctx.org([Scope.CustomersRead]);
    const customer = await seedCustomer(ctx.db, orgId);
    await verify(ctx.db, orgId, customer.id); // three KYC moves, three events

    const history = async (first: number, after?: string): Promise<Page> => {
      const res = await ctx.gw.gql<{ customer: { statusHistory: Page } }>(
        key,
        `query($id: ID!, $first: Int!, $after: String) {
          customer(id: $id) { statusHistory(first: $first, after: $after) { edges { cursor node { id } } ${PAGE_INFO} } }
        }`,
        { id: customer.id, first, after },
      );
      expect(res.body.errors).toBeUndefined();
      return res.body.data!.customer.statusHistory;
    };

    const first = await history(2);
    expect(first.edges).toHaveLength(2);
    expect(first.pageInfo).toEqual({
      hasNextPage: true,
      hasPreviousPage: false,
      startCursor: first.edges[0]!.cursor,
      endCursor: first.edges[1]!.cursor,
    });
    const second = await history(2, first.pageInfo.endCursor!);
    expect(second.edges).toHaveLength(1);
    expect(second.pageInfo).toEqual({
      hasNextPage: false,
      hasPreviousPage: true,
      startCursor: second.edges[0]!.cursor,
      endCursor: second.edges[0]!.cursor,
    });
  });
});

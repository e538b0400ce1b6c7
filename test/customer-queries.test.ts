// Dashboard reads (SPEC section 7): customer(id) by UUID or external id, organisation
// isolation, the customers connection (every filter and order, stable cursors), customerAml,
// customerStats, and the identity block only while VERIFIED.
import { beforeAll, describe, expect, it } from 'vitest';
import { Scope } from '../src/auth/scopes.js';
import type { Customer } from '../src/generated/prisma/client.js';
import { seedCustomer } from './helpers/customers.js';
import { dbKind } from './helpers/db.js';
import { useGateway } from './helpers/fixture.js';

const PAGE = `query Page($first: Int, $after: String, $filter: CustomerFilter, $orderBy: CustomerOrder) {
  customers(first: $first, after: $after, filter: $filter, orderBy: $orderBy) {
    edges { cursor node { id externalId fullName } }
    pageInfo { hasNextPage endCursor }
  }
}`;

describe(`customer queries (${dbKind})`, () => {
  const ctx = useGateway({ poolSize: 4 });
  let key: string;
  let orgId: string;
  let otherKey: string;
  const rows: Customer[] = [];
  const base = Date.parse('2026-01-01T00:00:00.000Z');

  beforeAll(async () => {
    ({ key, orgId } = await ctx.org([Scope.CustomersRead, Scope.AmlRead]));
    ({ key: otherKey } = await ctx.org([Scope.CustomersRead, Scope.AmlRead]));
    // Ten customers with distinct, known timestamps and statuses.
    for (let i = 0; i < 10; i++) {
      rows.push(
        await seedCustomer(ctx.db, orgId, {
          externalId: `crm-${i}`,
          fullName: i === 3 ? 'Zoë 100%_Match' : `Customer ${i}`,
          email: `c${i}@Example.com`,
          type: i % 2 === 0 ? 'INDIVIDUAL' : 'SOLE_TRADER',
          kycStatus: i < 4 ? 'NOT_STARTED' : i < 7 ? 'PENDING' : 'VERIFIED',
          verifiedLegalName: i >= 7 ? `Legal ${i}` : null,
          verifiedCountry: i >= 7 ? 'GBR' : null,
          amlStatus: i >= 8 ? 'CLEAR' : 'NOT_SCREENED',
          createdAt: new Date(base + i * 1000),
          // updatedAt in the reverse order of createdAt
          updatedAt: new Date(base + 100_000 - i * 1000),
        }),
      );
    }
  });

  const ids = (res: { body: any }) => res.body.data.customers.edges.map((e: any) => e.node.externalId);

  it('customer(id) finds by UUID and by external id', async () => {
    const c = rows[2]!;
    const q = 'query($id: ID!) { customer(id: $id) { id externalId fullName email type addedVia kycStatus } }';
    const byId = await ctx.gw.gql(key, q, { id: c.id });
    expect(byId.body.data.customer).toEqual({
      id: c.id,
      externalId: 'crm-2',
      fullName: 'Customer 2',
      email: 'c2@Example.com',
      type: 'INDIVIDUAL',
      addedVia: 'INTEGRATION',
      kycStatus: 'NOT_STARTED',
    });
    const byExt = await ctx.gw.gql(key, q, { id: 'crm-2' });
    expect(byExt.body.data.customer.id).toBe(c.id);
    expect((await ctx.gw.gql(key, q, { id: 'crm-404' })).body.data.customer).toBeNull();
  });

  it("another organisation's customer is null, exactly like a missing one", async () => {
    const q = 'query($id: ID!) { customer(id: $id) { id } customerAml(id: $id) { status } }';
    for (const id of [rows[0]!.id, 'crm-0']) {
      const res = await ctx.gw.gql(otherKey, q, { id });
      expect(res.body).toEqual({ data: { customer: null, customerAml: null } });
    }
    const list = await ctx.gw.gql(otherKey, PAGE, { first: 100 });
    expect(list.body.data.customers.edges).toEqual([]);
  });

  it('identity is present only while VERIFIED; phone, risk and org ids are not in the schema', async () => {
    const q =
      'query($id: ID!) { customer(id: $id) { kycStatus identity { verifiedLegalName verifiedCountry } aml { status flags { pep sanctions adverseMedia terrorism } } } }';
    const verified = await ctx.gw.gql(key, q, { id: 'crm-8' });
    expect(verified.body.data.customer).toEqual({
      kycStatus: 'VERIFIED',
      identity: { verifiedLegalName: 'Legal 8', verifiedCountry: 'GBR' },
      aml: { status: 'CLEAR', flags: { pep: false, sanctions: false, adverseMedia: false, terrorism: false } },
    });
    // A customer whose identity columns are set but who is not VERIFIED shows none.
    await ctx.db.prisma.customer.update({ where: { id: rows[5]!.id }, data: { verifiedLegalName: 'Leak', verifiedCountry: 'FRA' } });
    expect((await ctx.gw.gql(key, q, { id: 'crm-5' })).body.data.customer.identity).toBeNull();
    for (const field of ['phone', 'risk', 'orgId', 'emailKey']) {
      const res = await ctx.gw.gql(key, `{ customer(id: "crm-1") { ${field} } }`);
      expect(res.body.errors?.[0]?.message).toContain(`Cannot query field "${field}"`);
    }
  });

  it('orders by CREATED_AT and UPDATED_AT, ASC and DESC', async () => {
    const all = rows.map((r) => r.externalId);
    const get = (orderBy: object) => ctx.gw.gql(key, PAGE, { first: 100, orderBy }).then(ids);
    expect(await get({ field: 'CREATED_AT', direction: 'ASC' })).toEqual(all);
    expect(await get({ field: 'CREATED_AT', direction: 'DESC' })).toEqual([...all].reverse());
    expect(await get({ field: 'UPDATED_AT', direction: 'ASC' })).toEqual([...all].reverse());
    expect(await get({ field: 'UPDATED_AT', direction: 'DESC' })).toEqual(all);
  });

  it('filters by each field', async () => {
    const get = (filter: object) => ctx.gw.gql(key, PAGE, { first: 100, filter }).then(ids);
    expect(await get({ kycStatus: ['PENDING'] })).toEqual(['crm-4', 'crm-5', 'crm-6']);
    expect(await get({ kycStatus: ['NOT_STARTED', 'VERIFIED'] })).toEqual(['crm-0', 'crm-1', 'crm-2', 'crm-3', 'crm-7', 'crm-8', 'crm-9']);
    expect(await get({ amlStatus: ['CLEAR'] })).toEqual(['crm-8', 'crm-9']);
    // updatedSince is strictly after: crm-9 has exactly base+91s and is excluded.
    expect(await get({ updatedSince: new Date(base + 91_000).toISOString() })).toEqual([
      'crm-0',
      'crm-1',
      'crm-2',
      'crm-3',
      'crm-4',
      'crm-5',
      'crm-6',
      'crm-7',
      'crm-8',
    ]);
    expect(await get({ updatedSince: new Date(base + 98_000).toISOString() })).toEqual(['crm-0', 'crm-1']);
    expect(await get({ externalId: 'crm-7' })).toEqual(['crm-7']);
    expect(await get({ type: 'SOLE_TRADER' })).toEqual(['crm-1', 'crm-3', 'crm-5', 'crm-7', 'crm-9']);
    expect(await get({ search: 'customer 1' })).toEqual(['crm-1']);
    expect(await get({ search: 'C4@EXAMPLE' })).toEqual(['crm-4']);
    expect(await get({ search: 'RM-6' })).toEqual(['crm-6']);
    // LIKE wildcards are literal characters in a search.
    expect(await get({ search: '100%_' })).toEqual(['crm-3']);
    expect(await get({ search: '%' })).toEqual(['crm-3']);
    expect(await get({ kycStatus: ['VERIFIED'], amlStatus: ['NOT_SCREENED'], type: 'SOLE_TRADER' })).toEqual(['crm-7']);
  });

  it('the page, its totalCount and customerStats apply the same filter; quotes and backslashes are literal text', async () => {
    const Q = `query($filter: CustomerFilter) {
      customers(first: 100, filter: $filter) { totalCount edges { node { externalId kycStatus aml { status } } } }
      customerStats(filter: $filter) { total kyc { status count } aml { status count } }
    }`;
    const filters = [
      {},
      { kycStatus: ['PENDING'] },
      { amlStatus: ['CLEAR'] },
      { type: 'SOLE_TRADER' },
      { updatedSince: new Date(base + 98_000).toISOString() },
      { search: 'customer 1' },
      { search: "'" },
      { search: '\\' },
      { externalId: "crm-7' OR 1=1 --" },
      { kycStatus: ['VERIFIED'], amlStatus: ['NOT_SCREENED'], type: 'SOLE_TRADER' },
    ];
    for (const filter of filters) {
      const res = await ctx.gw.gql(key, Q, { filter });
      expect(res.body.errors, JSON.stringify(filter)).toBeUndefined();
      const { customers, customerStats } = res.body.data;
      const nodes: { kycStatus: string; aml: { status: string } }[] = customers.edges.map((e: any) => e.node);
      expect(customers.totalCount, JSON.stringify(filter)).toBe(nodes.length);
      expect(customerStats.total, JSON.stringify(filter)).toBe(nodes.length);
      for (const { status, count } of customerStats.kyc) expect(count).toBe(nodes.filter((n) => n.kycStatus === status).length);
      for (const { status, count } of customerStats.aml) expect(count).toBe(nodes.filter((n) => n.aml.status === status).length);
    }
    // Sanity: the filters above did not all match nothing.
    const all = await ctx.gw.gql(key, Q, { filter: {} });
    expect(all.body.data.customers.totalCount).toBe(10);
    expect((await ctx.gw.gql(key, Q, { filter: { search: "'" } })).body.data.customers.totalCount).toBe(0);
  });

  it('pages with opaque cursors and rejects a forged one', async () => {
    const seen: string[] = [];
    let after: string | null = null;
    let pages = 0;
    do {
      const res: { body: any } = await ctx.gw.gql(key, PAGE, { first: 3, after });
      const conn: any = res.body.data.customers;
      seen.push(...ids(res));
      after = conn.pageInfo.hasNextPage ? conn.pageInfo.endCursor : null;
      pages++;
    } while (after);
    expect(pages).toBe(4);
    expect(seen).toEqual(rows.map((r) => r.externalId));
    const bad = await ctx.gw.gql(key, PAGE, { first: 3, after: 'not-a-cursor' });
    expect(bad.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const tooMany = await ctx.gw.gql(key, PAGE, { first: 101 });
    expect(tooMany.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('cursors stay stable while customers are inserted between pages: nothing skipped or repeated', async () => {
    const { key: k, orgId: o } = await ctx.org([Scope.CustomersRead]);
    const initial: string[] = [];
    for (let i = 0; i < 12; i++) initial.push((await seedCustomer(ctx.db, o, { externalId: `walk-${i}` })).externalId!);
    const seen: string[] = [];
    const added: string[] = [];
    let after: string | null = null;
    do {
      const res: { body: any } = await ctx.gw.gql(k, PAGE, { first: 5, after });
      const conn: any = res.body.data.customers;
      seen.push(...ids(res));
      after = conn.pageInfo.hasNextPage ? conn.pageInfo.endCursor : null;
      // Insert between pages; they sort after everything already created.
      for (let j = 0; j < 2 && added.length < 6; j++)
        added.push((await seedCustomer(ctx.db, o, { externalId: `new-${added.length}` })).externalId!);
    } while (after);
    expect(new Set(seen).size).toBe(seen.length);
    for (const id of initial) expect(seen).toContain(id);
    expect(seen.slice(0, initial.length)).toEqual(initial);
  });

  it('customerAml returns only the AML block, with the aml:read scope alone', async () => {
    const { key: amlOnly } = await ctx.keyFor((await ctx.db.prisma.organization.findUniqueOrThrow({ where: { id: orgId } })).name, [
      Scope.AmlRead,
    ]);
    const res = await ctx.gw.gql(amlOnly, '{ customerAml(id: "crm-9") { status screenedAt lastReviewedAt flags { pep } } }');
    expect(res.body).toEqual({ data: { customerAml: { status: 'CLEAR', screenedAt: null, lastReviewedAt: null, flags: { pep: false } } } });
    const denied = await ctx.gw.gql(amlOnly, '{ customer(id: "crm-9") { id } }');
    expect(denied.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('customerStats counts per KYC and AML status, honouring the filter', async () => {
    const q = 'query($filter: CustomerFilter) { customerStats(filter: $filter) { total kyc { status count } aml { status count } } }';
    const res = await ctx.gw.gql(key, q, {});
    const stats = res.body.data.customerStats;
    expect(stats.total).toBe(10);
    const kyc = Object.fromEntries(stats.kyc.map((s: any) => [s.status, s.count]));
    expect(kyc).toEqual({ NOT_STARTED: 4, PENDING: 3, IN_PROGRESS: 0, VERIFIED: 3, FAILED: 0, NOT_REQUIRED: 0, AWAITING_RESUBMISSION: 0 });
    const aml = Object.fromEntries(stats.aml.map((s: any) => [s.status, s.count]));
    expect(aml).toEqual({ NOT_SCREENED: 8, IN_PROGRESS: 0, CLEAR: 2, NEEDS_REVIEW: 0, RESOLVED: 0 });
    const filtered = await ctx.gw.gql(key, q, { filter: { type: 'SOLE_TRADER' } });
    expect(filtered.body.data.customerStats.total).toBe(5);
  });
});

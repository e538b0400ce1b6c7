// Customer.statusHistory: newest first, paginated, batched (a page of 100 customers with
// nested aml, identity and statusHistory(first: 3) costs at most 3 SQL statements), and the
// retention purge of old events.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { purgeEventsBefore } from '../src/events/retention.js';
import { moveKyc, seedCustomer } from './helpers/customers.js';
import { createTestDatabase, dbKind, type TestDatabase } from './helpers/db.js';
import { issueKey, startGateway, uniqueOrg, type TestGateway } from './helpers/gateway.js';
import { appendCustomerEvent } from '../src/events/outbox.js';
import { SYSTEM_ACTOR } from '../src/events/actor.js';
import type { Customer } from '../src/customers/row.js';

describe(`statusHistory (${dbKind})`, () => {
  let t: TestDatabase;
  let gw: TestGateway;
  let orgId: string;
  let key: string;
  const frozen = new Date();
  beforeAll(async () => {
    t = await createTestDatabase(4);
    // A frozen clock keeps the verified key cached, so the count below is the query's own.
    gw = await startGateway(t.db, { now: () => frozen });
    ({ key, orgId } = await issueKey(t.db, uniqueOrg()));
  });
  afterAll(async () => {
    await gw?.close();
    await t?.close();
  });

  const PAGE = /* GraphQL */ `
    query P($first: Int!, $history: Int!, $after: String) {
      customers(first: $first) {
        edges {
          node {
            id
            fullName
            kycStatus
            aml {
              status
              screenedAt
              flags {
                pep
                sanctions
              }
            }
            identity {
              verifiedLegalName
              verifiedCountry
            }
            statusHistory(first: $history, after: $after) {
              edges {
                cursor
                node {
                  id
                  kind
                  occurredAt
                  kyc {
                    from
                    to
                  }
                  aml {
                    from
                    to
                  }
                }
              }
              pageInfo {
                hasNextPage
                endCursor
              }
            }
          }
        }
      }
    }
  `;

  it('a page of 100 customers with aml, identity and statusHistory(first: 3) costs at most 3 statements', async () => {
    const customers: Customer[] = [];
    for (let i = 0; i < 100; i++) customers.push(await seedCustomer(t.db, orgId));
    // Events of several kinds on some customers: 4 moves on the first, 1 on the second.
    const [c0, c1] = customers;
    await t.db.prisma.$transaction((tx) => appendCustomerEvent(tx, { kind: 'CREATED', customer: c0!, actor: SYSTEM_ACTOR }));
    for (const to of ['PENDING', 'IN_PROGRESS', 'FAILED', 'PENDING'] as const) await moveKyc(t.db, orgId, c0!.id, to);
    await moveKyc(t.db, orgId, c1!.id, 'PENDING');

    await gw.gql(key, '{ viewer { scopes } }'); // warm the key cache
    const statements: string[] = [];
    // Only the request's own statements: not background work (the retention purge, the
    // fire-and-forget last_used_at of the warm-up request's key).
    const stop = t.db.onQuery((sql) => !/DELETE FROM customer_events|api_keys/.test(sql) && statements.push(sql));
    let res;
    try {
      res = await gw.gql(key, PAGE, { first: 100, history: 3 });
    } finally {
      stop();
    }
    expect(res.body.errors).toBeUndefined();
    const nodes = res.body.data.customers.edges.map((e: any) => e.node);
    expect(nodes).toHaveLength(100);
    console.info(`statusHistory page of 100: ${statements.length} statements`);
    expect(statements.length).toBeLessThanOrEqual(3);

    const h0 = nodes.find((n: any) => n.id === c0!.id).statusHistory;
    expect(h0.edges.map((e: any) => `${e.node.kind}:${e.node.kyc?.to}`)).toEqual(['KYC:PENDING', 'KYC:FAILED', 'KYC:IN_PROGRESS']);
    expect(h0.pageInfo.hasNextPage).toBe(true);
    expect(nodes.find((n: any) => n.id === c1!.id).statusHistory.pageInfo.hasNextPage).toBe(false);
    expect(nodes.find((n: any) => n.id === customers[50]!.id).statusHistory.edges).toEqual([]);

    // The next page continues where the first ended.
    const next = await gw.gql(
      key,
      `query($id: ID!, $after: String) { customer(id: $id) { statusHistory(first: 3, after: $after) { edges { node { kind kyc { from to } } } pageInfo { hasNextPage } } } }`,
      {
        id: c0!.id,
        after: h0.pageInfo.endCursor,
      },
    );
    expect(next.body.data.customer.statusHistory).toEqual({
      edges: [{ node: { kind: 'KYC', kyc: { from: 'NOT_STARTED', to: 'PENDING' } } }, { node: { kind: 'CREATED', kyc: null } }],
      pageInfo: { hasNextPage: false },
    });
  });

  it('purges events older than the retention, keeps the rest', async () => {
    const c = await seedCustomer(t.db, orgId);
    await moveKyc(t.db, orgId, c.id, 'PENDING');
    await moveKyc(t.db, orgId, c.id, 'IN_PROGRESS');
    const [older] = await t.db.prisma.customerEvent.findMany({ where: { customerId: c.id }, orderBy: { id: 'asc' } });
    await t.db.prisma.customerEvent.update({ where: { id: older!.id }, data: { occurredAt: new Date(Date.now() - 8 * 86_400_000) } });
    const purged = await purgeEventsBefore(t.db.prisma, new Date(Date.now() - 7 * 86_400_000));
    expect(purged).toBe(1);
    expect((await t.db.prisma.customerEvent.findMany({ where: { customerId: c.id } })).map((e) => e.kycTo)).toEqual(['IN_PROGRESS']);
  });
});

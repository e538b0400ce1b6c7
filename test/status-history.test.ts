// Customer.statusHistory: newest first, paginated, batched (a page of 100 customers with
// nested aml, identity and statusHistory(first: 3) is ONE SQL statement: the history is inlined
// into the page's), answered alike inlined and through its DataLoader, and the
// retention purge of old events.
import { beforeAll, describe, expect, it } from 'vitest';
import { purgeEventsBefore } from '../src/events/retention.js';
import { moveKyc, seedCustomer } from './helpers/customers.js';
import { dbKind } from './helpers/db.js';
import { useGateway } from './helpers/fixture.js';
import { appendCustomerEvent } from '../src/events/outbox.js';
import { SYSTEM_ACTOR } from '../src/events/actor.js';
import type { Customer } from '../src/customers/row.js';

describe(`statusHistory (${dbKind})`, () => {
  const ctx = useGateway({ poolSize: 4, now: () => frozen });
  let orgId: string;
  let key: string;
  const frozen = new Date();
  beforeAll(async () => {
    // A frozen clock keeps the verified key cached, so the count below is the query's own.
    ({ key, orgId } = await ctx.org());
  });

  const HISTORY_SELECTION = /* GraphQL */ `
    {
      edges {
        cursor
        node {
          id
          kind
          occurredAt
          actor {
            kind
            keyId
            keyLabel
          }
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
  `;
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
            statusHistory(first: $history, after: $after) ${HISTORY_SELECTION}
          }
        }
      }
    }
  `;

  it('a page of 100 customers with aml, identity and statusHistory(first: 3) is one statement', async () => {
    const customers: Customer[] = [];
    for (let i = 0; i < 100; i++) customers.push(await seedCustomer(ctx.db, orgId));
    // Events of several kinds on some customers: 4 moves on the first, 1 on the second.
    const [c0, c1] = customers;
    await ctx.db.prisma.$transaction((tx) => appendCustomerEvent(tx, { kind: 'CREATED', customer: c0!, actor: SYSTEM_ACTOR }));
    for (const to of ['PENDING', 'IN_PROGRESS', 'FAILED', 'PENDING'] as const) await moveKyc(ctx.db, orgId, c0!.id, to);
    await moveKyc(ctx.db, orgId, c1!.id, 'PENDING');

    await ctx.gw.gql(key, '{ viewer { scopes } }'); // warm the key cache
    // Twice: the document's first execution is interpreted by graphql-js, the second compiled (graphql/jit.ts).
    const answers = [];
    for (let run = 0; run < 2; run++) {
      const statements: string[] = [];
      // Only the request's own statements: not background work (the retention purge, the
      // fire-and-forget last_used_at of the warm-up request's key).
      const stop = ctx.db.onQuery((sql) => !/DELETE FROM customer_events|api_keys/.test(sql) && statements.push(sql));
      let res;
      try {
        res = await ctx.gw.gql(key, PAGE, { first: 100, history: 3 });
      } finally {
        stop();
      }
      expect(res.body.errors).toBeUndefined();
      console.info(`statusHistory page of 100 (run ${run + 1}): ${statements.length} statements`);
      expect(statements).toHaveLength(1);
      expect(statements[0]).toMatch(/customer_events/);
      // Only the public columns: never the write-only ones.
      expect(statements[0]).not.toMatch(/phone|risk_|email_key/);
      answers.push(res.body.data);
    }
    expect(answers[1]).toEqual(answers[0]);
    const nodes = answers[0].customers.edges.map((e: any) => e.node);
    expect(nodes).toHaveLength(100);

    const h0 = nodes.find((n: any) => n.id === c0!.id).statusHistory;
    expect(h0.edges.map((e: any) => `${e.node.kind}:${e.node.kyc?.to}`)).toEqual(['KYC:PENDING', 'KYC:FAILED', 'KYC:IN_PROGRESS']);
    expect(h0.pageInfo.hasNextPage).toBe(true);
    expect(nodes.find((n: any) => n.id === c1!.id).statusHistory.pageInfo.hasNextPage).toBe(false);
    expect(nodes.find((n: any) => n.id === customers[50]!.id).statusHistory.edges).toEqual([]);

    // The inlined pages are exactly what the DataLoader's statement answers (customer(id) reads through it).
    for (const c of [c0!, c1!, customers[50]!]) {
      const one = await ctx.gw.gql(key, `query($id: ID!) { customer(id: $id) { statusHistory(first: 3) ${HISTORY_SELECTION} } }`, {
        id: c.id,
      });
      expect(one.body.errors).toBeUndefined();
      expect(one.body.data.customer.statusHistory).toEqual(nodes.find((n: any) => n.id === c.id).statusHistory);
    }

    // The next page continues where the first ended.
    const next = await ctx.gw.gql(
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
    const c = await seedCustomer(ctx.db, orgId);
    await moveKyc(ctx.db, orgId, c.id, 'PENDING');
    await moveKyc(ctx.db, orgId, c.id, 'IN_PROGRESS');
    const [older] = await ctx.db.prisma.customerEvent.findMany({ where: { customerId: c.id }, orderBy: { id: 'asc' } });
    await ctx.db.prisma.customerEvent.update({ where: { id: older!.id }, data: { occurredAt: new Date(Date.now() - 8 * 86_400_000) } });
    const purged = await purgeEventsBefore(ctx.db.prisma, new Date(Date.now() - 7 * 86_400_000));
    expect(purged).toBe(1);
    expect((await ctx.db.prisma.customerEvent.findMany({ where: { customerId: c.id } })).map((e) => e.kycTo)).toEqual(['IN_PROGRESS']);
  });
});

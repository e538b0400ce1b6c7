// The fan-out's multiplexing (docs/events.md, "Fan-out"): a live change is executed once per
// group of identical subscriptions (document, variables, organisation, scopes), not once per
// subscriber. Observed through the database: a nested statusHistory is one statement per
// execution, so its count per change is the number of executions. Each execution reads the
// state after the change (no DataLoader cache kept from an earlier change).
import { describe, expect, it } from 'vitest';
import { Scope } from '../src/auth/scopes.js';
import { dbKind } from './helpers/db.js';
import { useGateway } from './helpers/fixture.js';
import { moveKyc, seedCustomer } from './helpers/customers.js';
import { Clients, subscribersAtLeast, type Received } from './helpers/subscriptions.js';

const ctx = useGateway();

const WITH_HISTORY = /* GraphQL */ `
  subscription H($filter: CustomerStatusChangeFilter) {
    customerStatusChanged(filter: $filter) {
      kyc {
        to
      }
      customer {
        id
        statusHistory(first: 1) {
          edges {
            node {
              kyc {
                to
              }
            }
          }
        }
      }
    }
  }
`;

describe(`subscription fan-out (${dbKind})`, () => {
  it('executes each change once per group of identical subscriptions, each time with the state after it', async () => {
    const clients = new Clients();
    try {
      const a = await ctx.org([Scope.CustomersRead]);
      // Same organisation, other scopes: a group of its own (fields may depend on scopes).
      const a2 = await ctx.keyFor(a.name, [Scope.CustomersRead, Scope.CustomersWrite]);
      const other = await ctx.org([Scope.CustomersRead]);
      const c = await seedCustomer(ctx.db, a.orgId);
      const filter = { customerIds: [c.id] };
      const subs: Received[] = [];
      // Group 1: 30 subscribers of one key over 3 connections; group 2: same document and
      // variables under a key with other scopes; group 3: other variables (no filter).
      for (let i = 0; i < 3; i++) {
        const client = clients.ws(ctx.gw.url, a.key);
        for (let j = 0; j < 10; j++) subs.push(clients.subscribe(client, { filter }, WITH_HISTORY));
      }
      subs.push(clients.subscribe(clients.ws(ctx.gw.url, a2.key), { filter }, WITH_HISTORY));
      subs.push(clients.subscribe(clients.ws(ctx.gw.url, a.key), {}, WITH_HISTORY));
      // Another organisation's subscriber sees nothing of this and executes nothing.
      const outsider = clients.subscribe(clients.ws(ctx.gw.url, other.key), {}, WITH_HISTORY);
      await subscribersAtLeast(ctx.gw.services.bus, subs.length + 1);

      const histories: string[] = [];
      const stop = ctx.db.onQuery((sql) => {
        if (sql.includes('CROSS JOIN LATERAL') && sql.includes('customer_events')) histories.push(sql);
      });
      try {
        for (const [n, to] of [
          [1, 'PENDING'],
          [2, 'IN_PROGRESS'],
        ] as const) {
          await moveKyc(ctx.db, a.orgId, c.id, to);
          await Promise.all(subs.map((s) => s.waitFor(n)));
          // Three groups, three executions, whatever the number of subscribers.
          expect(histories).toHaveLength(3 * n);
          for (const s of subs) {
            const change = s.changes[n - 1];
            expect(change.kyc.to).toBe(to);
            // The newest history entry is this change, not a page cached at the previous one.
            expect(change.customer.statusHistory.edges[0].node.kyc.to).toBe(to);
          }
        }
      } finally {
        stop();
      }
      expect(subs.every((s) => s.results.every((r) => !r.errors))).toBe(true);
      expect(outsider.results).toEqual([]);
    } finally {
      await clients.closeAll();
    }
  });
});

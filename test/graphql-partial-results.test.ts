// A root field that fails (a scope the key lacks) is null with its error, and the other fields
// of the same request still resolve (README "Decisions"): root fields are nullable, as
// @graphql-eslint's require-nullable-result-in-root asks, so one error cannot null `data` whole.
import { describe, expect, it } from 'vitest';
import { Scope } from '../src/auth/scopes.js';
import { seedCustomer } from './helpers/customers.js';
import { dbKind } from './helpers/db.js';
import { useGateway } from './helpers/fixture.js';

const ctx = useGateway();

describe(`partial results (${dbKind})`, () => {
  it('a query: the forbidden field is null with FORBIDDEN, the others resolve', async () => {
    const { key, orgId } = await ctx.org([Scope.AmlRead]);
    const customer = await seedCustomer(ctx.db, orgId);
    const res = await ctx.gw.gql(
      key,
      `query($id: ID!) {
        viewer { scopes }
        customerStats { total }
        customers(first: 1) { edges { cursor } }
        customerAml(id: $id) { status }
      }`,
      { id: customer.id },
    );
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual({
      viewer: { scopes: [Scope.AmlRead] },
      customerStats: null,
      customers: null,
      customerAml: { status: 'NOT_SCREENED' },
    });
    expect(res.body.errors?.map((e) => [e.path, e.extensions.code]).sort()).toEqual([
      [['customerStats'], 'FORBIDDEN'],
      [['customers'], 'FORBIDDEN'],
    ]);
  });

  it('mutations: a forbidden one is null and the next one still runs', async () => {
    const { key } = await ctx.org([Scope.CustomersWrite]);
    const res = await ctx.gw.gql(
      key,
      `mutation {
        kyc: transitionKyc(id: "crm-none", to: PENDING) { __typename }
        upsert: upsertCustomer(input: { fullName: "Ada Lovelace", email: "ada@example.com" }) {
          ... on UpsertCustomerSuccess { outcome }
        }
      }`,
    );
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual({ kyc: null, upsert: { outcome: 'CREATED' } });
    expect(res.body.errors?.map((e) => [e.path, e.extensions.code])).toEqual([[['kyc'], 'FORBIDDEN']]);
  });
});

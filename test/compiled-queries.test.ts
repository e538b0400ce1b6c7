// Queries and mutations run compiled once hot (graphql-jit, src/graphql/jit.ts); their errors
// must read as the reference executor's do: code, path and locations in the document, and the
// same HTTP status; a mutation's root fields run one after the other.
import { describe, expect, it } from 'vitest';
import { Scope } from '../src/auth/scopes.js';
import { dbKind } from './helpers/db.js';
import { useGateway } from './helpers/fixture.js';
import { seedCustomer } from './helpers/customers.js';

const ctx = useGateway();

describe(`compiled queries (${dbKind})`, () => {
  it('a page answers the same compiled as interpreted', async () => {
    const { key, orgId } = await ctx.org([Scope.CustomersRead]);
    const at = new Date('2026-01-02T03:04:05.678Z');
    await seedCustomer(ctx.db, orgId, {
      kycStatus: 'VERIFIED',
      verifiedLegalName: 'Ada King',
      verifiedCountry: 'GBR',
      amlStatus: 'NEEDS_REVIEW',
      amlScreenedAt: at,
      amlPep: true,
    });
    await seedCustomer(ctx.db, orgId);
    const query = `{ customers(first: 1) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node {
      id fullName kycStatus createdAt identity { verifiedLegalName } aml { status screenedAt lastReviewedAt flags { pep sanctions } }
      statusHistory(first: 2) { edges { node { kind occurredAt } } }
    } } } }`;
    const interpreted = await ctx.gw.gql(key, query);
    const compiled = await ctx.gw.gql(key, query);
    expect(interpreted.body.errors).toBeUndefined();
    expect(compiled.body).toEqual(interpreted.body);
    expect(JSON.stringify(compiled.body)).toContain('"screenedAt":"2026-01-02T03:04:05.678Z"');
  });

  it('a field error keeps its code, path and location', async () => {
    const { key } = await ctx.org([Scope.AmlRead]);
    const query = `query {\n  viewer { scopes }\n    customerStats { total }\n}`;
    const interpreted = await ctx.gw.gql(key, query);
    const res = await ctx.gw.gql(key, query);
    expect(res.body).toEqual(interpreted.body);
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual({ viewer: { scopes: [Scope.AmlRead] }, customerStats: null });
    expect(res.body.errors).toHaveLength(1);
    expect(res.body.errors![0]).toMatchObject({
      path: ['customerStats'],
      locations: [{ line: 3, column: 5 }],
      extensions: { code: 'FORBIDDEN' },
    });
  });

  it('a variable that does not coerce is BAD_USER_INPUT at its definition, as with the reference executor', async () => {
    const { key } = await ctx.org([Scope.CustomersRead]);
    const query = `query List($first: Int) {\n  customers(first: $first) { totalCount }\n}`;
    // Sent once with good variables first, so that the document is hot (compiled).
    expect((await ctx.gw.gql(key, query, { first: 1 })).body.errors).toBeUndefined();
    const res = await ctx.gw.gql(key, query, { first: 'x' });
    expect(res.status).toBe(200);
    expect(res.body.data).toBeUndefined();
    expect(res.body.errors).toHaveLength(1);
    expect(res.body.errors![0]).toEqual({
      message: 'Variable "$first" got invalid value "x"; Int cannot represent non-integer value: "x"',
      locations: [{ line: 1, column: 12 }],
      extensions: { code: 'BAD_USER_INPUT' },
    });
  });
  it('a hot mutation runs compiled: root fields one after the other, error members as interpreted', async () => {
    const { key } = await ctx.org([Scope.CustomersWrite]);
    const selection = `__typename
      ... on UpsertCustomerSuccess { outcome replayed customer { externalId email fullName } }
      ... on ValidationError { code fieldErrors { field } }`;
    const doc = `mutation Two($a: UpsertCustomerInput!, $b: UpsertCustomerInput!) {
      first: upsertCustomer(input: $a) { ${selection} }
      second: upsertCustomer(input: $b) { ${selection} }
    }`;
    // The first run is interpreted, the next ones compiled: each answer the same. The second
    // field matches the customer the first one created only if it runs after it.
    for (const n of [1, 2, 3]) {
      const externalId = `two-${n}`;
      const email = `two-${n}@example.com`;
      const res = await ctx.gw.gql(key, doc, {
        a: { externalId, fullName: 'Ada One', email },
        b: { externalId, fullName: 'Ada Two', email },
      });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        data: {
          first: {
            __typename: 'UpsertCustomerSuccess',
            outcome: 'CREATED',
            replayed: false,
            customer: { externalId, email, fullName: 'Ada One' },
          },
          second: {
            __typename: 'UpsertCustomerSuccess',
            outcome: 'UPDATED',
            replayed: false,
            customer: { externalId, email, fullName: 'Ada Two' },
          },
        },
      });
    }
    const bad = await ctx.gw.gql(key, doc, {
      a: { externalId: 'two-bad', fullName: 'Ada', email: 'not an email' },
      b: { externalId: 'two-ok', fullName: 'Ada', email: 'two-ok@example.com' },
    });
    expect(bad.body).toEqual({
      data: {
        first: { __typename: 'ValidationError', code: 'validation_failed', fieldErrors: [{ field: 'email' }] },
        second: {
          __typename: 'UpsertCustomerSuccess',
          outcome: 'CREATED',
          replayed: false,
          customer: { externalId: 'two-ok', email: 'two-ok@example.com', fullName: 'Ada' },
        },
      },
    });
  });
});

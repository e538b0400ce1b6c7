// Queries run compiled (graphql-jit, src/graphql/jit.ts); their errors must read as the
// reference executor's do: code, path and locations in the document, and the same HTTP status.
import { describe, expect, it } from 'vitest';
import { Scope } from '../src/auth/scopes.js';
import { dbKind } from './helpers/db.js';
import { useGateway } from './helpers/fixture.js';

const ctx = useGateway();

describe(`compiled queries (${dbKind})`, () => {
  it('a field error keeps its code, path and location', async () => {
    const { key } = await ctx.org([Scope.AmlRead]);
    const res = await ctx.gw.gql(key, `query {\n  viewer { scopes }\n    customerStats { total }\n}`);
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
});

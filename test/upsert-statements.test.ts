// Round trips of the write path, not only its results: every customer write is one transaction
// of a bounded number of statements, whichever match rule applies, on both surfaces, with and
// without an idempotency key; a replay reads the stored response and nothing else.
//
// The query listeners (db.onQuery) see every statement of a transaction except its BEGIN: Prisma's
// query log for the lifecycle moves (the driver adapter sends BEGIN on its own), and the customer
// writes' own runner (src/db/transaction.ts) reports the same way. So a transaction costs the
// statements counted here plus one.
import { describe, expect, it } from 'vitest';
import { Scope } from '../src/auth/scopes.js';
import { dbKind } from './helpers/db.js';
import { UPDATE, UPSERT } from './helpers/customers.js';
import { useGateway } from './helpers/fixture.js';
import { rest } from './helpers/rest.js';

const ctx = useGateway();

/** Statements of other work that may land in a request's window: key checks, rate-limit leases, purges, bus polls. */
const NOT_THE_WRITE = /api_keys|organizations|rate_limit_windows|DELETE FROM|pg_current_snapshot/;

/** Prisma logs a commit as `COMMIT`, or as a comment naming it (`-- Implicit "COMMIT" query via underlying driver`). */
const isCommit = (sql: string) => /^(COMMIT|-- Implicit "COMMIT")/.test(sql);

/** The round trips a request costs: the statements Prisma reports, plus one BEGIN per transaction. */
async function roundTrips(request: () => Promise<unknown>): Promise<{ roundTrips: number; statements: string[] }> {
  const statements: string[] = [];
  const stop = ctx.db.onQuery((sql) => !NOT_THE_WRITE.test(sql) && statements.push(sql.replace(/\s+/g, ' ').trim()));
  try {
    await request();
  } finally {
    stop();
  }
  const transactions = statements.filter(isCommit).length;
  return { roundTrips: statements.length + transactions, statements };
}

/** A fresh organisation, its keys warmed (key cache, rate-limit lease) so that only the writes count. */
async function org() {
  const writer = await ctx.org([Scope.CustomersWrite, Scope.CustomersRead], { prefix: 'rt' });
  const backOffice = await ctx.keyFor(writer.name, [Scope.ComplianceWrite]);
  await ctx.gw.gql(writer.key, '{ viewer { scopes } }');
  await ctx.gw.gql(backOffice.key, '{ viewer { scopes } }');
  await rest(ctx.gw.url, writer.key, 'GET', '/api/v1/customers?limit=1');
  return { writer, backOffice };
}

const post = (key: string, body: unknown, idempotencyKey?: string) =>
  rest(ctx.gw.url, key, 'POST', '/api/v1/customers', body, idempotencyKey ? { 'idempotency-key': idempotencyKey } : {});
const patch = (key: string, id: string, body: unknown, idempotencyKey?: string) =>
  rest(ctx.gw.url, key, 'PATCH', `/api/v1/customers/${id}`, body, idempotencyKey ? { 'idempotency-key': idempotencyKey } : {});

/** Measures one write and checks that it is one transaction of at most `max` round trips. */
async function expectWrite(
  label: string,
  request: () => Promise<{ status: number; body: unknown }>,
  expected: { status?: number; max: number },
) {
  let answer: { status: number; body: unknown } | undefined;
  const cost = await roundTrips(async () => {
    answer = await request();
  });
  if (expected.status !== undefined) expect(answer?.status, JSON.stringify(answer?.body)).toBe(expected.status);
  expect(cost.statements.filter(isCommit), cost.statements.join('\n')).toHaveLength(1);
  console.info(`${label}: ${cost.roundTrips} round trips`);
  expect(cost.roundTrips, cost.statements.join('\n')).toBeLessThanOrEqual(expected.max);
  return { answer, ...cost };
}

describe(`round trips of customer writes (${dbKind})`, () => {
  it('a REST upsert is one transaction of at most 6 round trips whichever rule applies; a replay 3', async () => {
    const { writer } = await org();
    const first = { externalId: 'rt-1', fullName: 'Round Trip', email: 'rt-1@example.com' };
    const created = await expectWrite('REST create, keyed', () => post(writer.key, first, 'k-create'), { status: 201, max: 6 });
    const replay = await expectWrite('REST replay', () => post(writer.key, first, 'k-create'), { status: 201, max: 3 });
    expect(replay.answer?.body).toEqual(created.answer?.body);
    // The rules that update: by external id, by email, adoption; a no-op; a conflict.
    await expectWrite('REST update by external id, keyed', () => post(writer.key, { ...first, fullName: 'Renamed' }, 'k-update'), {
      status: 200,
      max: 6,
    });
    await expectWrite(
      'REST update by email, keyed',
      () => post(writer.key, { fullName: 'By Email', email: 'rt-1@example.com' }, 'k-email'),
      { status: 200, max: 6 },
    );
    await post(writer.key, { fullName: 'No External Id', email: 'rt-2@example.com' });
    await expectWrite(
      'REST adopt, keyed',
      () => post(writer.key, { externalId: 'rt-2', fullName: 'Adopted', email: 'rt-2@example.com' }, 'k-adopt'),
      { status: 200, max: 6 },
    );
    await expectWrite(
      'REST no-op, keyed',
      () => post(writer.key, { externalId: 'rt-2', fullName: 'Adopted', email: 'rt-2@example.com' }, 'k-same'),
      { status: 200, max: 6 },
    );
    await expectWrite(
      'REST conflict, keyed',
      () => post(writer.key, { externalId: 'rt-3', fullName: 'Taken', email: 'rt-1@example.com' }, 'k-conflict'),
      { status: 409, max: 6 },
    );
    // Without a key there is no claim and no stored response.
    await expectWrite(
      'REST create, no key',
      () => post(writer.key, { externalId: 'rt-4', fullName: 'No Key', email: 'rt-4@example.com' }),
      { status: 201, max: 5 },
    );
  });

  it('a REST PATCH is one transaction of at most 6 round trips, an unknown id included', async () => {
    const { writer } = await org();
    const made = await post(writer.key, { externalId: 'rt-p', fullName: 'Patch Me', email: 'rt-p@example.com' });
    const id = (made.body as { id: string }).id;
    await expectWrite(
      'REST PATCH with email, keyed',
      () => patch(writer.key, id, { fullName: 'Patched', email: 'rt-p2@example.com' }, 'k-p1'),
      { status: 200, max: 6 },
    );
    await expectWrite('REST PATCH by external id, keyed', () => patch(writer.key, 'rt-p', { phone: '+44 20 7946 0000' }, 'k-p2'), {
      status: 200,
      max: 6,
    });
    await expectWrite('REST PATCH unknown id, keyed', () => patch(writer.key, 'rt-missing', { fullName: 'Nobody' }, 'k-p3'), {
      status: 404,
      max: 6,
    });
    await expectWrite('REST PATCH, no key', () => patch(writer.key, id, { fullName: 'Patched' }), { status: 200, max: 5 });
  });

  it('GraphQL upsertCustomer and updateCustomer cost what REST costs', async () => {
    const { writer } = await org();
    const input = { externalId: 'rt-g', fullName: 'Graph Q', email: 'rt-g@example.com' };
    const gql = (query: string, variables: Record<string, unknown>) => async () => {
      const res = await ctx.gw.gql(writer.key, query, variables);
      expect(res.body.errors).toBeUndefined();
      return res;
    };
    const created = await expectWrite('GraphQL create, keyed', gql(UPSERT, { input, key: 'g-1' }), { max: 6 });
    const id = (created.answer?.body as { data: { upsertCustomer: { customer: { id: string } } } }).data.upsertCustomer.customer.id;
    await expectWrite('GraphQL replay', gql(UPSERT, { input, key: 'g-1' }), { max: 3 });
    await expectWrite('GraphQL update, keyed', gql(UPSERT, { input: { ...input, fullName: 'Graph R' }, key: 'g-2' }), { max: 6 });
    await expectWrite('GraphQL updateCustomer, keyed', gql(UPDATE, { id, input: { email: 'rt-g2@example.com' }, key: 'g-3' }), { max: 6 });
    await expectWrite('GraphQL updateCustomer replay', gql(UPDATE, { id, input: { email: 'rt-g2@example.com' }, key: 'g-3' }), { max: 3 });
  });

  it('a status move is one transaction: lock and read the customer, then its write with its event', async () => {
    const { writer, backOffice } = await org();
    const made = await post(writer.key, { externalId: 'rt-k', fullName: 'Kyc Move', email: 'rt-k@example.com' });
    const id = (made.body as { id: string }).id;
    const move = (to: string) => async () => {
      const res = await ctx.gw.gql(backOffice.key, `mutation { transitionKyc(id: "${id}", to: ${to}) { __typename } }`);
      expect(res.body.data?.transitionKyc?.__typename).toBe('TransitionKycSuccess');
      return res;
    };
    await expectWrite('KYC move', move('PENDING'), { max: 4 });
    const refused = await roundTrips(() =>
      ctx.gw.gql(backOffice.key, `mutation { transitionKyc(id: "${id}", to: VERIFIED) { __typename } }`),
    );
    // Refused after reading the customer: nothing written, nothing but the read.
    expect(refused.statements.filter((s) => /^(INSERT|UPDATE|WITH)/.test(s))).toEqual([]);
  });
});

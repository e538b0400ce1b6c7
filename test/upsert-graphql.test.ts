// upsertCustomer / updateCustomer end to end (real server, real database): every row of the
// match-rule table of SPEC section 4, the precedence case, immutable fields, frozen identity,
// validation, PATCH semantics and the event written with every write.
import { describe, expect, it } from 'vitest';
import { Scope } from '../src/auth/scopes.js';
import { dbKind } from './helpers/db.js';
import { customersOf, eventsOf, seedCustomer, update, upsert } from './helpers/customers.js';
import { useGateway } from './helpers/fixture.js';

const ctx = useGateway();

/** A fresh organisation with a write key. */
const org = () => ctx.org([Scope.CustomersWrite, Scope.CustomersRead], { prefix: 'up' });

type Seed = { externalId?: string; email: string; fullName?: string };
interface Row {
  name: string;
  seed: Seed[];
  input: Record<string, unknown>;
  /** Expected payload type and outcome; `target` is the index of the seeded customer it must hit. */
  expect: { outcome: 'CREATED' } | { outcome: 'UPDATED' | 'ADOPTED'; target: number } | { conflict: 'email' };
}

const ROWS: Row[] = [
  {
    name: 'externalId given, a customer has it → update it (UPDATED)',
    seed: [{ externalId: 'crm-1', email: 'a@example.com' }],
    input: { externalId: 'crm-1', fullName: 'Ann Updated', email: 'a@example.com' },
    expect: { outcome: 'UPDATED', target: 0 },
  },
  {
    name: 'externalId given, none; a customer with no externalId has the email → set it (ADOPTED)',
    seed: [{ email: 'b@example.com' }],
    input: { externalId: 'crm-2', fullName: 'Bob', email: 'b@example.com' },
    expect: { outcome: 'ADOPTED', target: 0 },
  },
  {
    name: 'externalId given, none; a customer with a different externalId has the email → conflict',
    seed: [{ externalId: 'crm-other', email: 'c@example.com' }],
    input: { externalId: 'crm-3', fullName: 'Cy', email: 'c@example.com' },
    expect: { conflict: 'email' },
  },
  {
    name: 'no externalId, a customer has the email → update it (UPDATED)',
    seed: [{ externalId: 'crm-4', email: 'd@example.com' }],
    input: { fullName: 'Dee Updated', email: 'd@example.com' },
    expect: { outcome: 'UPDATED', target: 0 },
  },
  {
    name: 'no externalId, nothing → create (CREATED)',
    seed: [{ email: 'someone-else@example.com' }],
    input: { fullName: 'Eve', email: 'e@example.com' },
    expect: { outcome: 'CREATED' },
  },
  {
    name: 'externalId given, nothing → create with it (CREATED)',
    seed: [{ externalId: 'crm-unrelated', email: 'x@example.com' }],
    input: { externalId: 'crm-6', fullName: 'Fay', email: 'f@example.com' },
    expect: { outcome: 'CREATED' },
  },
  {
    name: 'precedence: externalId matches A, the email belongs to B → conflict on email',
    seed: [
      { externalId: 'crm-a', email: 'a@example.com' },
      { externalId: 'crm-b', email: 'b@example.com' },
    ],
    input: { externalId: 'crm-a', fullName: 'Moved', email: 'b@example.com' },
    expect: { conflict: 'email' },
  },
  {
    name: 'precedence: externalId matches A, the email belongs to B with no externalId → conflict (no adoption)',
    seed: [{ externalId: 'crm-a', email: 'a@example.com' }, { email: 'b@example.com' }],
    input: { externalId: 'crm-a', fullName: 'Moved', email: 'b@example.com' },
    expect: { conflict: 'email' },
  },
  {
    name: 'email matching trims and lower-cases',
    seed: [{ email: 'Gil@Example.com' }],
    input: { fullName: 'Gil', email: '  gil@EXAMPLE.com ' },
    expect: { outcome: 'UPDATED', target: 0 },
  },
];

describe(`upsertCustomer match rules (${dbKind})`, () => {
  it.each(ROWS)('$name', async (row) => {
    const { key, orgId } = await org();
    const seeded = [];
    for (const s of row.seed) {
      const r = await upsert(ctx.gw, key, { fullName: s.fullName ?? 'Seed', ...s });
      expect(r.outcome).toBe('CREATED');
      seeded.push(r.customer);
    }
    const before = await customersOf(ctx.db, orgId);
    const eventsBefore = (await eventsOf(ctx.db, orgId)).length;

    const r = await upsert(ctx.gw, key, row.input);
    const after = await customersOf(ctx.db, orgId);
    const events = await eventsOf(ctx.db, orgId);

    if ('conflict' in row.expect) {
      expect(r).toMatchObject({ __typename: 'CustomerConflictError', code: 'conflict', field: row.expect.conflict });
      expect(after).toEqual(before); // nothing changed, not even updatedAt
      expect(events).toHaveLength(eventsBefore);
      return;
    }
    expect(r).toMatchObject({ __typename: 'UpsertCustomerSuccess', outcome: row.expect.outcome, replayed: false });
    expect(r.customer.fullName).toBe(row.input.fullName);
    expect(r.customer.email).toBe(String(row.input.email).trim()); // the caller's spelling, trimmed
    if (row.expect.outcome === 'CREATED') {
      expect(after).toHaveLength(before.length + 1);
      expect(r.customer).toMatchObject({
        externalId: row.input.externalId ?? null,
        addedVia: 'INTEGRATION',
        type: 'INDIVIDUAL',
        kycStatus: 'NOT_STARTED',
      });
    } else {
      expect(after).toHaveLength(before.length);
      const target = seeded[row.expect.target];
      expect(r.customer.id).toBe(target.id);
      expect(r.customer.externalId).toBe(row.input.externalId ?? target.externalId);
      expect(Date.parse(r.customer.updatedAt)).toBeGreaterThan(Date.parse(target.updatedAt));
    }
    // Exactly one event, of the outcome's kind, with the public snapshot of the result.
    expect(events).toHaveLength(eventsBefore + 1);
    const last = events.at(-1)!;
    expect(last.kind).toBe(row.expect.outcome);
    expect(last.customerId).toBe(r.customer.id);
    expect(last.snapshot).toMatchObject({ id: r.customer.id, fullName: r.customer.fullName, updatedAt: r.customer.updatedAt });
    expect(JSON.stringify(last.snapshot)).not.toMatch(/phone|risk|orgId/);
  });

  it('type and addedVia never change on update', async () => {
    const { key, orgId } = await org();
    const row = await seedCustomer(ctx.db, orgId, {
      fullName: 'Sole',
      email: 'sole@example.com',
      externalId: 'crm-s',
      type: 'SOLE_TRADER',
      addedVia: 'ADMIN_MANUAL',
    });
    const r = await upsert(ctx.gw, key, { externalId: 'crm-s', fullName: 'Sole Renamed', email: 'sole@example.com', type: 'INDIVIDUAL' });
    expect(r).toMatchObject({
      outcome: 'UPDATED',
      customer: { id: row.id, type: 'SOLE_TRADER', addedVia: 'ADMIN_MANUAL', fullName: 'Sole Renamed' },
    });
    const stored = await ctx.db.prisma.customer.findUniqueOrThrow({ where: { id: row.id } });
    expect(stored).toMatchObject({ type: 'SOLE_TRADER', addedVia: 'ADMIN_MANUAL' });
  });

  it('sending exactly what is stored writes nothing: no event, updatedAt kept', async () => {
    const { key, orgId } = await org();
    const input = {
      externalId: 'crm-n',
      fullName: 'Noop',
      email: 'noop@example.com',
      phone: '+61 400 000 000',
      risk: { isNewCustomer: true },
    };
    const first = await upsert(ctx.gw, key, input);
    const again = await upsert(ctx.gw, key, input);
    expect(again).toMatchObject({ outcome: 'UPDATED', customer: { id: first.customer.id, updatedAt: first.customer.updatedAt } });
    expect(await eventsOf(ctx.db, orgId)).toHaveLength(1);
  });

  it('stores the write-only fields without ever returning them', async () => {
    const { key } = await org();
    const r = await upsert(ctx.gw, key, {
      fullName: 'Risky',
      email: 'risky@example.com',
      phone: '+44 20 7946 0000',
      risk: { handlesCashOrCrypto: true },
    });
    const row = await ctx.db.prisma.customer.findUniqueOrThrow({ where: { id: r.customer.id } });
    expect(row).toMatchObject({ phone: '+44 20 7946 0000', riskHandlesCashOrCrypto: true, riskIsNewCustomer: null });
    const partial = await upsert(ctx.gw, key, { fullName: 'Risky', email: 'risky@example.com', risk: { isNewCustomer: false } });
    expect(partial.outcome).toBe('UPDATED');
    const after = await ctx.db.prisma.customer.findUniqueOrThrow({ where: { id: r.customer.id } });
    // Answers and fields left out stay as they were.
    expect(after).toMatchObject({ phone: '+44 20 7946 0000', riskHandlesCashOrCrypto: true, riskIsNewCustomer: false });
  });
});

describe(`frozen identity once VERIFIED (${dbKind})`, () => {
  async function verified() {
    const { key, orgId } = await org();
    const r = await upsert(ctx.gw, key, { externalId: 'crm-v', fullName: 'Vera Verified', email: 'Vera@Example.com' });
    await ctx.db.prisma.customer.update({
      where: { id: r.customer.id },
      data: { kycStatus: 'VERIFIED', verifiedLegalName: 'Vera Verified', verifiedCountry: 'AUS' },
    });
    const before = await ctx.db.prisma.customer.findUniqueOrThrow({ where: { id: r.customer.id } });
    return { key, orgId, id: r.customer.id, before };
  }

  it.each([
    { name: 'fullName', input: { fullName: 'Someone Else', email: 'vera@example.com' }, fields: ['fullName'] },
    { name: 'email', input: { fullName: 'Vera Verified', email: 'new@example.com' }, fields: ['email'] },
    { name: 'both', input: { fullName: 'X', email: 'new@example.com' }, fields: ['fullName', 'email'] },
  ])('upsert changing $name is rejected naming the field, nothing changes', async ({ input, fields }) => {
    const { key, orgId, id, before } = await verified();
    const r = await upsert(ctx.gw, key, { externalId: 'crm-v', ...input, phone: '123' });
    expect(r.__typename).toBe('ValidationError');
    expect(r.code).toBe('validation_failed');
    expect(r.fieldErrors.map((f: { field: string }) => f.field)).toEqual(fields);
    expect(await ctx.db.prisma.customer.findUniqueOrThrow({ where: { id } })).toEqual(before);
    expect(await eventsOf(ctx.db, orgId)).toHaveLength(1);
  });

  it('the same values are accepted (email compared case-insensitively, stored spelling kept)', async () => {
    const { key, id } = await verified();
    const r = await upsert(ctx.gw, key, { externalId: 'crm-v', fullName: 'Vera Verified', email: ' vera@EXAMPLE.com', phone: '+1 555' });
    expect(r).toMatchObject({ outcome: 'UPDATED', customer: { id, email: 'Vera@Example.com', kycStatus: 'VERIFIED' } });
    expect((await ctx.db.prisma.customer.findUniqueOrThrow({ where: { id } })).phone).toBe('+1 555');
  });

  it('updateCustomer changing the name is rejected; phone alone is accepted', async () => {
    const { key, id } = await verified();
    const bad = await update(ctx.gw, key, id, { fullName: 'Other' });
    expect(bad).toMatchObject({ __typename: 'ValidationError', fieldErrors: [{ field: 'fullName' }] });
    const ok = await update(ctx.gw, key, id, { phone: '42', fullName: 'Vera Verified' });
    expect(ok).toMatchObject({ __typename: 'UpdateCustomerSuccess', customer: { id, fullName: 'Vera Verified' } });
  });
});

describe(`updateCustomer (${dbKind})`, () => {
  it('updates only the fields sent, by UUID or by external id, and logs an UPDATED event', async () => {
    const { key, orgId } = await org();
    const c = (await upsert(ctx.gw, key, { externalId: 'crm-p', fullName: 'Pat', email: 'pat@example.com', phone: '1' })).customer;
    const byUuid = await update(ctx.gw, key, c.id, { fullName: 'Patricia' });
    expect(byUuid).toMatchObject({
      __typename: 'UpdateCustomerSuccess',
      replayed: false,
      customer: { id: c.id, fullName: 'Patricia', email: 'pat@example.com', externalId: 'crm-p' },
    });
    expect(Date.parse(byUuid.customer.updatedAt)).toBeGreaterThan(Date.parse(c.updatedAt));
    const byExternal = await update(ctx.gw, key, 'crm-p', { email: 'Pat@New.example', phone: null });
    expect(byExternal.customer).toMatchObject({ id: c.id, fullName: 'Patricia', email: 'Pat@New.example' });
    const row = await ctx.db.prisma.customer.findUniqueOrThrow({ where: { id: c.id } });
    expect(row).toMatchObject({ phone: null, emailKey: 'pat@new.example', addedVia: 'INTEGRATION' });
    expect((await eventsOf(ctx.db, orgId)).map((e) => e.kind)).toEqual(['CREATED', 'UPDATED', 'UPDATED']);
  });

  it('an email that belongs to another customer is a conflict; nothing changes', async () => {
    const { key, orgId } = await org();
    const a = (await upsert(ctx.gw, key, { fullName: 'A', email: 'a@example.com' })).customer;
    await upsert(ctx.gw, key, { fullName: 'B', email: 'b@example.com' });
    const before = await customersOf(ctx.db, orgId);
    expect(await update(ctx.gw, key, a.id, { email: 'B@example.com', fullName: 'A2' })).toMatchObject({
      __typename: 'CustomerConflictError',
      code: 'conflict',
      field: 'email',
    });
    expect(await customersOf(ctx.db, orgId)).toEqual(before);
  });

  it('an unknown id, or another organisation’s customer, is not found', async () => {
    const mine = await org();
    const theirs = await org();
    const c = (await upsert(ctx.gw, theirs.key, { externalId: 'crm-t', fullName: 'Theirs', email: 't@example.com' })).customer;
    for (const id of [c.id, 'crm-t', '00000000-0000-4000-8000-000000000000', 'nope']) {
      expect(await update(ctx.gw, mine.key, id, { fullName: 'Mine now' })).toMatchObject({
        __typename: 'CustomerNotFoundError',
        code: 'not_found',
      });
    }
    expect((await ctx.db.prisma.customer.findUniqueOrThrow({ where: { id: c.id } })).fullName).toBe('Theirs');
  });
});

describe(`validation and authorisation (${dbKind})`, () => {
  it('reports every bad field at once and writes nothing', async () => {
    const { key, orgId } = await org();
    const r = await upsert(ctx.gw, key, {
      externalId: 'x'.repeat(256),
      fullName: '   ',
      email: 'not-an-email',
      phone: '1'.repeat(33),
    });
    expect(r.__typename).toBe('ValidationError');
    expect(r.fieldErrors.map((f: { field: string }) => f.field).sort()).toEqual(['email', 'externalId', 'fullName', 'phone']);
    expect(await customersOf(ctx.db, orgId)).toHaveLength(0);
    const patch = await update(ctx.gw, key, 'whatever', { fullName: null, email: 'a'.repeat(250) + '@x.com' });
    expect(patch.fieldErrors.map((f: { field: string }) => f.field).sort()).toEqual(['email', 'fullName']);
  });

  it('needs customers:write', async () => {
    const { key } = await ctx.org([Scope.CustomersRead], { prefix: 'ro' });
    const res = await ctx.gw.gql(key, 'mutation { upsertCustomer(input: {fullName: "A", email: "a@example.com"}) { __typename } }');
    expect(res.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(res.body.data?.upsertCustomer ?? null).toBeNull();
  });
});

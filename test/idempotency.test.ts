// Idempotency keys (SPEC section 4) through the real server: verbatim replay with no side
// effect, conflicts, canonical comparison, 24-hour expiry on an injectable clock, key length,
// scope, and what is and is not stored.
import { describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../src/events/actor.js';
import { Scope } from '../src/auth/scopes.js';
import { upsertCustomer, type WriteResult } from '../src/customers/upsert.js';
import { purgeExpiredKeys } from '../src/idempotency/store.js';
import { dbKind, onPostgres } from './helpers/db.js';
import { customersOf, eventsOf, UPSERT, update, upsert } from './helpers/customers.js';
import { useGateway } from './helpers/fixture.js';

const ctx = useGateway();

/** A fresh organisation with a write key. */
const org = () => ctx.org([Scope.CustomersWrite, Scope.CustomersRead], { prefix: 'idem' });
const keysOf = (orgId: string) => ctx.db.prisma.idempotencyKey.findMany({ where: { orgId } });

describe(`idempotency keys (${dbKind})`, () => {
  it('replays the stored payload verbatim, with no write and no event', async () => {
    const { key, orgId } = await org();
    const input = { externalId: 'crm-1', fullName: 'First Name', email: 'first@example.com' };
    const first = await upsert(ctx.gw, key, input, 'k-1');
    expect(first).toMatchObject({ outcome: 'CREATED', replayed: false });
    // A later write without the key changes the record...
    const changed = await upsert(ctx.gw, key, { ...input, fullName: 'Changed Later' });
    expect(changed.outcome).toBe('UPDATED');
    const rowBefore = await ctx.db.prisma.customer.findUniqueOrThrow({ where: { id: first.customer.id } });
    const eventsBefore = await eventsOf(ctx.db, orgId);

    // ...and the replay returns the first result, not a re-run (which would rename it back).
    const replay = await upsert(ctx.gw, key, input, 'k-1');
    expect(replay).toEqual({ ...first, replayed: true });
    expect(await ctx.db.prisma.customer.findUniqueOrThrow({ where: { id: first.customer.id } })).toEqual(rowBefore);
    expect(rowBefore.fullName).toBe('Changed Later');
    expect(await eventsOf(ctx.db, orgId)).toEqual(eventsBefore);
    expect(await keysOf(orgId)).toHaveLength(1);
  });

  it('the same key with a different input is a conflict and writes nothing', async () => {
    const { key, orgId } = await org();
    await upsert(ctx.gw, key, { fullName: 'A', email: 'a@example.com' }, 'k-2');
    const before = await customersOf(ctx.db, orgId);
    const r = await upsert(ctx.gw, key, { fullName: 'B', email: 'a@example.com' }, 'k-2');
    expect(r).toMatchObject({ __typename: 'IdempotencyKeyConflictError', code: 'idempotency_conflict' });
    expect(await customersOf(ctx.db, orgId)).toEqual(before);
    expect(await eventsOf(ctx.db, orgId)).toHaveLength(1);
  });

  it('compares canonical JSON: the same input with keys in another order replays', async () => {
    const { orgId } = await org();
    const render = (result: WriteResult) => ({
      status: result.kind === 'success' && result.outcome === 'CREATED' ? 201 : 200,
      body: { result, z: 1, a: 2 },
    });
    const call = (input: unknown) =>
      upsertCustomer(ctx.gw.services, {
        orgId,
        actor: SYSTEM_ACTOR,
        input,
        idempotency: { operation: 'POST /customers', key: 'k-order' },
        render,
      });
    const first = await call({ fullName: 'Ord', email: 'ord@example.com', risk: { isNewCustomer: true, handlesCashOrCrypto: false } });
    const second = await call({ risk: { handlesCashOrCrypto: false, isNewCustomer: true }, email: 'ord@example.com', fullName: 'Ord' });
    expect(first).toMatchObject({ kind: 'ran', response: { status: 201 } });
    expect(second).toMatchObject({ kind: 'replayed' });
    if (first.kind !== 'ran' || second.kind !== 'replayed') throw new Error('unreachable');
    // The REST route gets status and body back byte for byte, key order included.
    expect(second.response.status).toBe(201);
    expect(JSON.stringify(second.response.body)).toBe(JSON.stringify(first.response.body));
    expect(await eventsOf(ctx.db, orgId)).toHaveLength(1);
    // Through GraphQL too (variables in another order).
    const { key } = await ctx.org([Scope.CustomersWrite], { prefix: 'idem' });
    const a = await ctx.gw.gql(key, UPSERT, { input: { fullName: 'G', email: 'g@example.com' }, key: 'k-g' });
    const b = await ctx.gw.gql(key, UPSERT, { key: 'k-g', input: { email: 'g@example.com', fullName: 'G' } });
    expect(b.body.data.upsertCustomer).toEqual({ ...a.body.data.upsertCustomer, replayed: true });
  });

  it('a key of 256 characters (or empty) is a validation error and runs nothing; 255 is fine', async () => {
    const { key, orgId } = await org();
    const input = { fullName: 'Long', email: 'long@example.com' };
    for (const k of ['k'.repeat(256), '']) {
      const r = await upsert(ctx.gw, key, input, k);
      expect(r).toMatchObject({ __typename: 'ValidationError', code: 'validation_failed', fieldErrors: [{ field: 'idempotencyKey' }] });
    }
    expect(await customersOf(ctx.db, orgId)).toHaveLength(0);
    expect(await upsert(ctx.gw, key, input, 'k'.repeat(255))).toMatchObject({ outcome: 'CREATED' });
    expect(await upsert(ctx.gw, key, input, 'k'.repeat(255))).toMatchObject({ outcome: 'CREATED', replayed: true });
  });

  it('keys are scoped by organisation and operation; updateCustomer compares the id too', async () => {
    const one = await org();
    const two = await org();
    const input = { fullName: 'Scoped', email: 'scoped@example.com' };
    const a = await upsert(ctx.gw, one.key, input, 'shared');
    const b = await upsert(ctx.gw, two.key, input, 'shared');
    expect([a.replayed, b.replayed]).toEqual([false, false]);
    expect(a.customer.id).not.toBe(b.customer.id);
    // Another operation with the same key runs.
    const u = await update(ctx.gw, one.key, a.customer.id, { phone: '1' }, 'shared');
    expect(u).toMatchObject({ __typename: 'UpdateCustomerSuccess', replayed: false });
    expect(await update(ctx.gw, one.key, a.customer.id, { phone: '1' }, 'shared')).toMatchObject({ replayed: true });
    const other = await upsert(ctx.gw, one.key, { fullName: 'Other', email: 'other@example.com' });
    expect(await update(ctx.gw, one.key, other.customer.id, { phone: '1' }, 'shared')).toMatchObject({
      __typename: 'IdempotencyKeyConflictError',
    });
  });

  it('expires after 24 hours on the injectable clock; expired keys are overwritten and purged', async () => {
    let clock = new Date();
    const timed = await ctx.extraGateway({ now: () => clock });
    const { key, orgId } = await org();
    const start = clock;
    const first = await upsert(timed, key, { fullName: 'Day One', email: 'day@example.com' }, 'k-day');
    clock = new Date(start.getTime() + 24 * 3_600_000 - 1);
    expect(await upsert(timed, key, { fullName: 'Day One', email: 'day@example.com' }, 'k-day')).toEqual({ ...first, replayed: true });
    expect(await upsert(timed, key, { fullName: 'Day Two', email: 'day@example.com' }, 'k-day')).toMatchObject({
      __typename: 'IdempotencyKeyConflictError',
    });
    clock = new Date(start.getTime() + 24 * 3_600_000);
    // Expired: treated as absent, so a different input runs and takes the key over.
    const fresh = await upsert(timed, key, { fullName: 'Day Two', email: 'day@example.com' }, 'k-day');
    expect(fresh).toMatchObject({ outcome: 'UPDATED', replayed: false, customer: { fullName: 'Day Two' } });
    const [row] = await keysOf(orgId);
    expect(row?.expiresAt.getTime()).toBe(clock.getTime() + 24 * 3_600_000);
    await purgeExpiredKeys(ctx.db.prisma, new Date(clock.getTime() + 24 * 3_600_000 - 1));
    expect(await keysOf(orgId)).toHaveLength(1);
    expect(await purgeExpiredKeys(ctx.db.prisma, new Date(clock.getTime() + 24 * 3_600_000))).toBeGreaterThanOrEqual(1);
    expect(await keysOf(orgId)).toHaveLength(0);
  });
});

describe(`what is stored (${dbKind})`, () => {
  it('a conflict outcome is stored: the replay is the conflict even once the email is free', async () => {
    const { key, orgId } = await org();
    const b = await upsert(ctx.gw, key, { externalId: 'crm-b', fullName: 'B', email: 'b@example.com' });
    const input = { externalId: 'crm-a', fullName: 'A', email: 'b@example.com' };
    expect(await upsert(ctx.gw, key, input, 'k-c')).toMatchObject({ __typename: 'CustomerConflictError', field: 'email' });
    await update(ctx.gw, key, b.customer.id, { email: 'b2@example.com' });
    expect(await upsert(ctx.gw, key, input, 'k-c')).toMatchObject({ __typename: 'CustomerConflictError', field: 'email' });
    expect(await customersOf(ctx.db, orgId)).toHaveLength(1);
    expect(await upsert(ctx.gw, key, input)).toMatchObject({ outcome: 'CREATED' });
  });

  it('a frozen-identity validation failure is stored', async () => {
    const { key } = await org();
    const c = await upsert(ctx.gw, key, { externalId: 'crm-v', fullName: 'Vera', email: 'v@example.com' });
    await ctx.db.prisma.customer.update({
      where: { id: c.customer.id },
      data: { kycStatus: 'VERIFIED', verifiedLegalName: 'Vera', verifiedCountry: 'AUS' },
    });
    const input = { externalId: 'crm-v', fullName: 'Not Vera', email: 'v@example.com' };
    expect(await upsert(ctx.gw, key, input, 'k-f')).toMatchObject({ __typename: 'ValidationError', fieldErrors: [{ field: 'fullName' }] });
    await ctx.db.prisma.customer.update({ where: { id: c.customer.id }, data: { kycStatus: 'FAILED' } });
    expect(await upsert(ctx.gw, key, input, 'k-f')).toMatchObject({ __typename: 'ValidationError', fieldErrors: [{ field: 'fullName' }] });
    expect(await upsert(ctx.gw, key, input)).toMatchObject({ outcome: 'UPDATED', customer: { fullName: 'Not Vera' } });
  });

  it('invalid input is not stored: the key then runs with a valid input', async () => {
    const { key, orgId } = await org();
    expect(await upsert(ctx.gw, key, { fullName: '', email: 'nope' }, 'k-i')).toMatchObject({ __typename: 'ValidationError' });
    expect(await keysOf(orgId)).toHaveLength(0);
    expect(await upsert(ctx.gw, key, { fullName: 'Valid', email: 'valid@example.com' }, 'k-i')).toMatchObject({
      outcome: 'CREATED',
      replayed: false,
    });
  });

  it('a request refused for its scope is not stored', async () => {
    const { name, key, orgId } = await org();
    const readOnly = await ctx.keyFor(name, [Scope.CustomersRead]);
    const refused = await ctx.gw.gql(readOnly.key, UPSERT, { input: { fullName: 'X', email: 'x@example.com' }, key: 'k-s' });
    expect(refused.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(await keysOf(orgId)).toHaveLength(0);
    expect(await upsert(ctx.gw, key, { fullName: 'Y', email: 'y@example.com' }, 'k-s')).toMatchObject({
      outcome: 'CREATED',
      replayed: false,
    });
  });

  it('the write monitor hears every answer by kind: runs, replays, conflicts, invalid input', async () => {
    const { orgId } = await org();
    const heard: string[] = [];
    const deps = {
      ...ctx.gw.services,
      writeMonitor: { answered: (op: string, kind: string) => heard.push(`${op} ${kind}`), retried: () => {} },
    };
    const render = (result: WriteResult) => ({ status: 200, body: result.kind });
    const call = (input: unknown, key?: string) =>
      upsertCustomer(deps, { orgId, actor: SYSTEM_ACTOR, input, idempotency: key ? { operation: 'test', key } : undefined, render });
    await call({ fullName: 'Mon', email: 'mon@example.com' }, 'k-mon');
    await call({ fullName: 'Mon', email: 'mon@example.com' }, 'k-mon');
    await call({ fullName: 'Other', email: 'mon@example.com' }, 'k-mon');
    await call({ fullName: '' });
    expect(heard).toEqual(['upsert ran', 'upsert replayed', 'upsert idempotency_conflict', 'upsert invalid']);
  });

  // Replays of one key must not queue on each other: a live key is read, never row-locked (an
  // INSERT … ON CONFLICT DO UPDATE locks the conflicting row even when it updates nothing).
  // PostgreSQL only: PGlite has one connection, so no second transaction can hold a lock meanwhile.
  it.runIf(onPostgres)('a replay takes no lock on its key: it answers while another transaction holds the key row', async () => {
    const { key, orgId } = await org();
    const input = { externalId: 'crm-lockfree', fullName: 'Lock Free', email: 'lockfree@example.com' };
    const first = await upsert(ctx.gw, key, input, 'k-lockfree');
    let replay: unknown;
    await ctx.db.prisma.$transaction(
      async (tx) => {
        await tx.$queryRaw`SELECT 1 FROM idempotency_keys WHERE org_id = ${orgId}::uuid AND key = 'k-lockfree' FOR UPDATE`;
        replay = await upsert(ctx.gw, key, input, 'k-lockfree');
      },
      { timeout: 30_000 },
    );
    expect(replay).toEqual({ ...first, replayed: true });
  });

  it('a server failure inside the transaction stores nothing and leaves no trace; the retry runs', async () => {
    const { key, orgId } = await org();
    const input = { externalId: 'crm-5xx', fullName: 'Boom', email: 'boom@example.com' };
    ctx.gw.services.testHooks.insideWriteTransaction = () => Promise.reject(new Error('simulated failure after the write, before commit'));
    try {
      const failed = await ctx.gw.gql(key, UPSERT, { input, key: 'k-5xx' });
      expect(failed.body.errors?.[0]?.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
      expect(JSON.stringify(failed.body)).not.toContain('simulated');
    } finally {
      delete ctx.gw.services.testHooks.insideWriteTransaction;
    }
    expect(await customersOf(ctx.db, orgId)).toHaveLength(0);
    expect(await eventsOf(ctx.db, orgId)).toHaveLength(0);
    expect(await keysOf(orgId)).toHaveLength(0);
    expect(await upsert(ctx.gw, key, input, 'k-5xx')).toMatchObject({ outcome: 'CREATED', replayed: false });
    expect(await eventsOf(ctx.db, orgId)).toHaveLength(1);
  });
});

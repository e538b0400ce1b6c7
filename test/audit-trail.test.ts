// The audit trail (SPEC section 11): every write surface records the calling key's id and label
// with its event; statusHistory and the subscription expose actor { kind keyId keyLabel }
// (never the key); events are kept unless EVENT_RETENTION_DAYS is set.
import { describe, expect, it } from 'vitest';
import { Scope } from '../src/auth/scopes.js';
import { loadConfig } from '../src/config.js';
import { purgeExpiredEvents } from '../src/events/retention.js';
import { dbKind } from './helpers/db.js';
import { useGateway } from './helpers/fixture.js';
import { rest } from './helpers/rest.js';
import { Clients, subscribersAtLeast } from './helpers/subscriptions.js';

const ctx = useGateway();

const HISTORY = `query($id: ID!) { customer(id: $id) { statusHistory(first: 20) { edges { node { kind actor { kind keyId keyLabel } } } } } }`;

describe(`audit trail (${dbKind})`, () => {
  it('each write surface records the calling key (id and label); statusHistory shows it, never the key', async () => {
    const integrator = await ctx.org([Scope.CustomersRead, Scope.CustomersWrite], { label: 'crm sync' });
    const backOffice = await ctx.keyFor(integrator.name, [Scope.ComplianceWrite, Scope.CustomersRead], { label: 'kyc desk' });
    const unlabelled = await ctx.keyFor(integrator.name, [Scope.CustomersWrite]);
    const { gw } = ctx;

    const created = await rest(gw.url, integrator.key, 'POST', '/api/v1/customers', {
      externalId: 'a-1',
      fullName: 'Ada',
      email: 'ada@example.com',
    });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    expect(
      (await rest(gw.url, unlabelled.key, 'POST', '/api/v1/customers', { externalId: 'a-1', fullName: 'Ada B', email: 'ada@example.com' }))
        .status,
    ).toBe(200);
    expect((await rest(gw.url, integrator.key, 'PATCH', `/api/v1/customers/${id}`, { fullName: 'Ada C' })).status).toBe(200);
    const up = await gw.gql(
      unlabelled.key,
      `mutation { upsertCustomer(input: { externalId: "a-1", fullName: "Ada D", email: "ada@example.com" }) { __typename } }`,
    );
    expect(up.body.data.upsertCustomer.__typename).toBe('UpsertCustomerSuccess');
    const upd = await gw.gql(integrator.key, `mutation { updateCustomer(id: "${id}", input: { fullName: "Ada E" }) { __typename } }`);
    expect(upd.body.data.updateCustomer.__typename).toBe('UpdateCustomerSuccess');
    for (const to of ['PENDING', 'IN_PROGRESS']) {
      const r = await gw.gql(backOffice.key, `mutation { transitionKyc(id: "${id}", to: ${to}) { __typename } }`);
      expect(r.body.data.transitionKyc.__typename).toBe('TransitionKycSuccess');
    }
    const verified = await gw.gql(
      backOffice.key,
      `mutation { transitionKyc(id: "${id}", to: VERIFIED, identity: { legalName: "Ada Lovelace", country: "GBR" }) { __typename } }`,
    );
    expect(verified.body.data.transitionKyc.__typename).toBe('TransitionKycSuccess');
    const aml = await gw.gql(backOffice.key, `mutation { recordAmlScreening(id: "${id}", status: IN_PROGRESS) { __typename } }`);
    expect(aml.body.data.recordAmlScreening.__typename).toBe('RecordAmlScreeningSuccess');

    const history = await gw.gql(integrator.key, HISTORY, { id });
    const entries = history.body.data.customer.statusHistory.edges.map((e: any) => e.node).reverse();
    const by = (k: { id: string }, label: string | null) => ({ kind: 'API_KEY', keyId: k.id, keyLabel: label });
    expect(entries).toEqual([
      { kind: 'CREATED', actor: by(integrator, 'crm sync') }, // REST upsert (create)
      { kind: 'UPDATED', actor: by(unlabelled, null) }, // REST upsert (update)
      { kind: 'UPDATED', actor: by(integrator, 'crm sync') }, // REST PATCH
      { kind: 'UPDATED', actor: by(unlabelled, null) }, // GraphQL upsertCustomer
      { kind: 'UPDATED', actor: by(integrator, 'crm sync') }, // GraphQL updateCustomer
      { kind: 'KYC', actor: by(backOffice, 'kyc desk') }, // transitionKyc
      { kind: 'KYC', actor: by(backOffice, 'kyc desk') },
      { kind: 'KYC', actor: by(backOffice, 'kyc desk') },
      { kind: 'AML', actor: by(backOffice, 'kyc desk') }, // recordAmlScreening
    ]);
    expect(JSON.stringify(history.body)).not.toContain(integrator.key);
    // The label is the one at the time of the change: renaming the key later does not rewrite history.
    await ctx.db.prisma.apiKey.update({ where: { id: backOffice.id }, data: { label: 'renamed' } });
    const again = await gw.gql(integrator.key, HISTORY, { id });
    expect(again.body.data.customer.statusHistory.edges[0].node.actor.keyLabel).toBe('kyc desk');
  });

  it('the subscription payload carries the actor of each status change', async () => {
    const clients = new Clients();
    try {
      const reader = await ctx.org([Scope.CustomersRead, Scope.CustomersWrite, Scope.ComplianceWrite], { label: 'desk 2' });
      const created = await rest(ctx.gw.url, reader.key, 'POST', '/api/v1/customers', { fullName: 'Sub', email: 'sub@example.com' });
      const sub = clients.subscribe(
        clients.ws(ctx.gw.url, reader.key),
        {},
        `subscription { customerStatusChanged { kind actor { kind keyId keyLabel } kyc { to } } }`,
      );
      await subscribersAtLeast(ctx.gw.services.bus, 1);
      await ctx.gw.gql(reader.key, `mutation { transitionKyc(id: "${created.body.id}", to: PENDING) { __typename } }`);
      await sub.waitFor(1);
      expect(sub.results[0]!.data.customerStatusChanged).toEqual({
        kind: 'KYC',
        actor: { kind: 'API_KEY', keyId: reader.id, keyLabel: 'desk 2' },
        kyc: { to: 'PENDING' },
      });
    } finally {
      await clients.closeAll();
    }
  });

  it('every event names its actor: the column has no default, an insert without one fails', async () => {
    const { orgId, key } = await ctx.org();
    const created = await rest(ctx.gw.url, key, 'POST', '/api/v1/customers', { fullName: 'No actor', email: 'no-actor@example.com' });
    await expect(
      ctx.db.prisma
        .$executeRaw`INSERT INTO customer_events (org_id, customer_id, kind, snapshot) VALUES (${orgId}::uuid, ${created.body.id}::uuid, 'UPDATED', '{}'::jsonb)`,
    ).rejects.toThrow();
  });

  it('events are kept by default (no purge); EVENT_RETENTION_DAYS, when set, purges older ones', async () => {
    const { orgId, key } = await ctx.org();
    const created = await rest(ctx.gw.url, key, 'POST', '/api/v1/customers', { fullName: 'Old', email: 'old@example.com' });
    const events = () => ctx.db.prisma.customerEvent.count({ where: { orgId } });
    await ctx.db.prisma.customerEvent.updateMany({
      where: { customerId: created.body.id },
      data: { occurredAt: new Date(Date.now() - 10 * 365 * 86_400_000) },
    });
    const defaults = loadConfig({});
    expect(defaults.eventRetentionDays).toBeNull();
    expect(await purgeExpiredEvents(ctx.db.prisma, defaults.eventRetentionDays, new Date())).toBe(0);
    expect(await events()).toBe(1);
    const configured = loadConfig({ EVENT_RETENTION_DAYS: '7' });
    expect(configured.eventRetentionDays).toBe(7);
    expect(() => loadConfig({ EVENT_RETENTION_DAYS: '3' })).toThrow(/EVENT_RETENTION_DAYS/);
    expect(await purgeExpiredEvents(ctx.db.prisma, configured.eventRetentionDays, new Date())).toBeGreaterThanOrEqual(1);
    expect(await events()).toBe(0);
  });
});

// Webhooks end to end (SPEC section 10), with real HTTP receivers on loopback: signatures that a
// Standard Webhooks verifier nobody here wrote accepts (and refuses when tampered or stale),
// the event types each change produces and their payloads, retries with backoff on an
// injected clock, the 24-hour limit, rollbacks, tenancy, the management API and the replay tool.
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { Scope } from '../src/auth/scopes.js';
import { loadConfig } from '../src/config.js';
import { SYSTEM_ACTOR } from '../src/events/actor.js';
import { applyKycTransition } from '../src/customers/lifecycle.js';
import { nominalDelay, RETRY_WINDOW_MS } from '../src/webhooks/backoff.js';
import { WEBHOOK_EVENT_TYPES, WebhookEventType } from '../src/webhooks/event-types.js';
import { deliveryCursor } from '../src/webhooks/endpoints.js';
import { DELIVERY_LOG_DAYS, purgeFinishedDeliveries } from '../src/webhooks/queue.js';
import { SecretBox, SecretUnavailableError } from '../src/webhooks/secret-box.js';
import { moveKyc, seedCustomer, verify } from './helpers/customers.js';
import { dbKind } from './helpers/db.js';
import { useGateway } from './helpers/fixture.js';
import { rest } from './helpers/rest.js';
import { deferred, type Deferred } from './helpers/deferred.js';
import { createEndpoint, Receiver, recorded, SENDER_ENV, TestClock } from './helpers/webhooks.js';

const ctx = useGateway({ poolSize: 6 });

const deliveriesOf = (endpointId: string) => ctx.db.prisma.webhookDelivery.findMany({ where: { endpointId }, orderBy: { id: 'asc' } });

describe(`webhooks (${dbKind})`, () => {
  it('signs with Standard Webhooks: verified before and after a rotation with overlap; a tampered body or a stale timestamp fails', async () => {
    const clock = new TestClock();
    const gw = await ctx.extraGateway({ env: SENDER_ENV, now: clock.now });
    const { orgId } = await ctx.org();
    const receiver = await Receiver.start();
    const { id, secret } = await createEndpoint(gw.services, orgId, receiver.url(), [WebhookEventType.KycStatusChanged]);
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(secret.slice(6), 'base64')).toHaveLength(32);
    const c = await seedCustomer(ctx.db, orgId);

    await moveKyc(ctx.db, orgId, c.id, 'PENDING');
    await receiver.waitFor(1);
    const first = receiver.received[0]!;
    const verified = new Webhook(secret).verify(first.body, first.headers) as any;
    expect(verified).toMatchObject({ type: 'customer.kyc_status_changed', data: { customer: { id: c.id } } });
    expect(first.headers['webhook-id']).toBe(verified.id);
    expect(first.headers['ic-event-id']).toBe(first.headers['webhook-id']);
    expect(first.headers['ic-signature']).toBe(first.headers['webhook-signature']);
    expect(first.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(first.headers['content-type']).toBe('application/json');
    // A tampered body, a signature from another secret, a stale or future timestamp: refused.
    const other = (await gw.services.webhooks.endpoints.rotateSecret(orgId, id, 0)) as any;
    expect(() => new Webhook(secret).verify(first.body.replace('PENDING', 'VERIFIED'), first.headers)).toThrow();
    expect(() => new Webhook(other.value.secret).verify(first.body, first.headers)).toThrow();
    const stale = { ...first.headers, 'webhook-timestamp': String(Number(first.headers['webhook-timestamp']) - 600) };
    expect(() => new Webhook(secret).verify(first.body, stale)).toThrow();

    // Rotation with an overlap: both secrets sign (two signatures), so receivers switch without a gap.
    const rotated = await gw.services.webhooks.endpoints.rotateSecret(orgId, id, 3600);
    if (!rotated.ok) throw new Error('rotation failed');
    await moveKyc(ctx.db, orgId, c.id, 'IN_PROGRESS');
    await receiver.waitFor(2);
    const second = receiver.received[1]!;
    expect(second.headers['webhook-signature']!.split(' ')).toHaveLength(2);
    expect(new Webhook(rotated.value.secret).verify(second.body, second.headers)).toMatchObject({ type: 'customer.kyc_status_changed' });
    expect(new Webhook(other.value.secret).verify(second.body, second.headers)).toMatchObject({ type: 'customer.kyc_status_changed' });
    // After the overlap only the new secret signs.
    clock.set(new Date(Date.now() + 3601_000));
    await moveKyc(ctx.db, orgId, c.id, 'AWAITING_RESUBMISSION');
    await receiver.waitFor(3);
    const third = receiver.received[2]!;
    expect(third.headers['webhook-signature']!.split(' ')).toHaveLength(1);
    // (Its timestamp is an hour ahead of the real clock: the verifier would refuse it as too new.)
    expect(() =>
      new Webhook(other.value.secret).verify(third.body, { ...third.headers, 'webhook-timestamp': first.headers['webhook-timestamp']! }),
    ).toThrow();
    // The attempt's own timestamp is the sender's clock: a sender an hour off is refused by receivers.
    expect(() => new Webhook(rotated.value.secret).verify(third.body, third.headers)).toThrow(/timestamp/i);
  });

  it('each event type fires for exactly the changes that define it; payload = the REST DTO after the change + previous', async () => {
    const gw = await ctx.extraGateway({ env: SENDER_ENV });
    const { orgId, key } = await ctx.org();
    const receiver = await Receiver.start();
    await createEndpoint(gw.services, orgId, receiver.url(), WEBHOOK_EVENT_TYPES);
    let count = 0;
    const next = async (expected: string[]) => {
      count += expected.length;
      await receiver.waitFor(count);
      const got = receiver.received.slice(count - expected.length, count);
      expect(got.map((r) => r.json.type)).toEqual(expected);
      return got;
    };

    const created = await rest(gw.url, key, 'POST', '/api/v1/customers', {
      externalId: 'wh-1',
      fullName: 'Ada',
      email: 'ada@example.com',
      phone: '+4420000000',
      risk: { isNewCustomer: true },
    });
    expect(created.status).toBe(201);
    const [c] = await next(['customer.created']);
    expect(c!.json).toEqual({
      id: expect.stringMatching(/^evt_\d+_customer_created$/),
      type: 'customer.created',
      created_at: expect.stringMatching(/Z$/),
      data: { customer: created.body, previous: null },
    });
    const id = created.body.id as string;

    // A re-sent identical record writes nothing: no event, no webhook. A real change: updated.
    expect(
      (await rest(gw.url, key, 'POST', '/api/v1/customers', { externalId: 'wh-1', fullName: 'Ada', email: 'ada@example.com' })).status,
    ).toBe(200);
    const patched = await rest(gw.url, key, 'PATCH', `/api/v1/customers/${id}`, { fullName: 'Ada L.' });
    const [u] = await next(['customer.updated']);
    expect(u!.json.data).toEqual({ customer: patched.body, previous: null });

    const kyc = async (to: string, types: string[], identity?: object) => {
      await rest(gw.url, key, 'GET', `/api/v1/customers/${id}`);
      const before = (await rest(gw.url, key, 'GET', `/api/v1/customers/${id}`)).body.kyc_status;
      const r = await gw.gql(
        key,
        `mutation($id: ID!, $to: KycStatus!, $identity: VerifiedIdentityInput) { transitionKyc(id: $id, to: $to, identity: $identity) { __typename } }`,
        {
          id,
          to,
          identity,
        },
      );
      expect(r.body.data.transitionKyc.__typename).toBe('TransitionKycSuccess');
      const got = await next(types);
      const after = (await rest(gw.url, key, 'GET', `/api/v1/customers/${id}`)).body;
      for (const g of got) {
        expect(g.json.data.customer).toEqual(after);
        expect(g.json.data.previous).toEqual(g.json.type === 'customer.updated' ? null : { kyc_status: before });
      }
    };
    await kyc('PENDING', ['customer.updated', 'customer.kyc_status_changed']);
    await kyc('IN_PROGRESS', ['customer.updated', 'customer.kyc_status_changed']);
    await kyc('FAILED', ['customer.updated', 'customer.kyc_status_changed', 'customer.kyc_completed']);
    await kyc('PENDING', ['customer.updated', 'customer.kyc_status_changed']);
    await kyc('IN_PROGRESS', ['customer.updated', 'customer.kyc_status_changed']);
    await kyc('VERIFIED', ['customer.updated', 'customer.kyc_status_changed', 'customer.kyc_completed'], {
      legalName: 'Ada Lovelace',
      country: 'GBR',
    });

    const aml = async (status: string, types: string[], flags?: object) => {
      const before = (await rest(gw.url, key, 'GET', `/api/v1/customers/${id}`)).body.aml.status;
      const r = await gw.gql(
        key,
        `mutation($id: ID!, $s: AmlStatus!, $f: AmlFlagsInput) { recordAmlScreening(id: $id, status: $s, flags: $f) { __typename } }`,
        {
          id,
          s: status,
          f: flags,
        },
      );
      expect(r.body.data.recordAmlScreening.__typename).toBe('RecordAmlScreeningSuccess');
      const got = await next(types);
      const after = (await rest(gw.url, key, 'GET', `/api/v1/customers/${id}`)).body;
      for (const g of got) {
        expect(g.json.data.customer).toEqual(after);
        expect(g.json.data.previous).toEqual(g.json.type === 'customer.updated' ? null : { aml_status: before });
      }
    };
    await aml('IN_PROGRESS', ['customer.updated', 'customer.aml_status_changed']);
    await aml('NEEDS_REVIEW', ['customer.updated', 'customer.aml_status_changed'], { pep: true });
    await aml('RESOLVED', ['customer.updated', 'customer.aml_status_changed', 'aml.review_completed']);
    await aml('IN_PROGRESS', ['customer.updated', 'customer.aml_status_changed']);
    await aml('CLEAR', ['customer.updated', 'customer.aml_status_changed']);

    // Nothing outside the public DTO: exactly the REST customer's keys, no phone, risk or org id.
    for (const r of receiver.received) {
      expect(Object.keys(r.json).sort()).toEqual(['created_at', 'data', 'id', 'type']);
      expect(Object.keys(r.json.data).sort()).toEqual(['customer', 'previous']);
      expect(Object.keys(r.json.data.customer).sort()).toEqual(Object.keys(created.body).sort());
      expect(r.body).not.toMatch(/phone|risk|org_id|\+4420000000/);
    }
    // Ids are unique per (event, type) and commit order is kept.
    expect(new Set(receiver.received.map((r) => r.json.id)).size).toBe(receiver.received.length);
    expect(receiver.received.length).toBe(count);
  });

  it('an endpoint receives only the types it subscribed to', async () => {
    const gw = await ctx.extraGateway({ env: SENDER_ENV });
    const { orgId } = await ctx.org();
    const receiver = await Receiver.start();
    await createEndpoint(gw.services, orgId, receiver.url(), [WebhookEventType.KycCompleted]);
    const c = await seedCustomer(ctx.db, orgId);
    await verify(ctx.db, orgId, c.id);
    await receiver.waitFor(1);
    await gw.services.webhooks.sender!.wake();
    expect(receiver.types).toEqual(['customer.kyc_completed']);
    expect(receiver.received[0]!.json.data.customer.kyc_status).toBe('VERIFIED');
  });

  it('a receiver that fails 3 times then answers 200: delivered on the 4th attempt at the scheduled backoff, same webhook-id each time', async () => {
    const clock = new TestClock();
    // The jitter pinned to its middle: each delay is the nominal one.
    const gw = await ctx.extraGateway({ env: SENDER_ENV, now: clock.now, random: () => 0.5 });
    const { orgId } = await ctx.org();
    const receiver = await Receiver.start((n) => (n < 3 ? 503 : 200));
    const { id } = await createEndpoint(gw.services, orgId, receiver.url(), [WebhookEventType.KycStatusChanged]);
    const c = await seedCustomer(ctx.db, orgId);
    const outcomes: string[] = [];
    gw.services.webhooks.sender!.monitor.on('attempt', (outcome, endpointId) => endpointId === id && outcomes.push(outcome));
    let done = recorded(gw.services, id);
    await moveKyc(ctx.db, orgId, c.id, 'PENDING');

    for (let attempt = 1; attempt <= 4; attempt++) {
      await done;
      const [d] = await deliveriesOf(id);
      expect(receiver.received).toHaveLength(attempt);
      if (attempt === 4) {
        expect(d).toMatchObject({ status: 'DELIVERED', attempts: 4, lastStatusCode: 200, lastError: null });
        break;
      }
      expect(d).toMatchObject({ status: 'PENDING', attempts: attempt, lastStatusCode: 503 });
      expect(await gw.services.webhooks.sender!.oldestPendingAt()).toEqual(d!.createdAt);
      expect(d!.lastError).toMatch(/^HTTP 503/);
      const scheduled = d!.nextAttemptAt.getTime() - d!.lastAttemptAt!.getTime();
      // Scheduled at the nominal backoff (5 s, 10 s, 20 s) from the end of the attempt.
      expect(scheduled).toBeGreaterThanOrEqual(nominalDelay(attempt));
      expect(scheduled).toBeLessThan(nominalDelay(attempt) + 1000);
      // Not a moment before: just short of it, a wake-up sends nothing.
      clock.set(new Date(d!.nextAttemptAt.getTime() - 50));
      await gw.services.webhooks.sender!.wake();
      expect(receiver.received).toHaveLength(attempt);
      done = recorded(gw.services, id);
      clock.set(d!.nextAttemptAt);
      await gw.services.webhooks.sender!.wake();
    }
    expect(new Set(receiver.received.map((r) => r.headers['webhook-id'])).size).toBe(1);
    // The monitor (for metrics): attempts by outcome, and the oldest waiting delivery (none left).
    expect(outcomes).toEqual(['http_error', 'http_error', 'http_error', 'delivered']);
    expect(await gw.services.webhooks.sender!.oldestPendingAt()).toBeNull();
    expect(new Set(receiver.received.map((r) => r.body)).size).toBe(1);
    // webhook-timestamp is the time of each attempt: 5 s, 10 s, 20 s apart.
    const times = receiver.received.map((r) => Number(r.headers['webhook-timestamp']));
    times.slice(1).forEach((t, i) => {
      expect(t - times[i]!).toBeGreaterThanOrEqual(nominalDelay(i + 1) / 1000);
      expect(t - times[i]!).toBeLessThanOrEqual(nominalDelay(i + 1) / 1000 + 1);
    });
  });

  // About 32 attempts, each waiting out its 300 ms timeout: ~12 s alone on a 2-core machine, and
  // past vitest's default 30 s there when the whole suite runs beside it.
  it('a receiver that never answers: attempts stop after 24 h and the delivery is FAILED', { timeout: 120_000 }, async () => {
    const clock = new TestClock();
    // 300 ms: long enough that each attempt's request is written before it times out, also on a
    // loaded CI machine where PGlite holds this process's event loop for a while.
    const gw = await ctx.extraGateway({ env: { ...SENDER_ENV, WEBHOOK_TIMEOUT_MS: '300' }, now: clock.now, random: () => 0.5 });
    const { orgId } = await ctx.org();
    const receiver = await Receiver.start(() => 'hang');
    const { id } = await createEndpoint(gw.services, orgId, receiver.url(), [WebhookEventType.KycStatusChanged]);
    const c = await seedCustomer(ctx.db, orgId);
    const start = Date.now();
    let done = recorded(gw.services, id);
    await moveKyc(ctx.db, orgId, c.id, 'PENDING');
    await done;
    let [d] = await deliveriesOf(id);
    expect(d!.lastError).toMatch(/no answer within 300 ms/);
    while (d!.status === 'PENDING') {
      done = recorded(gw.services, id);
      clock.set(d!.nextAttemptAt);
      await gw.services.webhooks.sender!.wake();
      await done;
      [d] = await deliveriesOf(id);
    }
    if (!d) throw new Error('no delivery');
    expect(d.status).toBe('FAILED');
    expect(d.nextAttemptAt.getTime() - d.createdAt.getTime()).toBeLessThanOrEqual(RETRY_WINDOW_MS);
    // The last attempt was made at the 24-hour mark, none after.
    expect(d.lastAttemptAt!.getTime() - start).toBeGreaterThanOrEqual(RETRY_WINDOW_MS - 1000);
    // Every attempt reached the receiver. Under load the last one may time out before the
    // receiver, in this same process, has read it; it is read once the connection closes.
    await receiver.waitFor(d.attempts);
    expect(receiver.received).toHaveLength(d.attempts);
    // Exponential then capped at an hour: 5 s … 40 min, then hourly: about 32 attempts in 24 h.
    expect(d.attempts).toBeGreaterThan(25);
    expect(d.attempts).toBeLessThan(40);
    clock.set(new Date(clock.now().getTime() + 7 * 86_400_000));
    await gw.services.webhooks.sender!.wake();
    expect(receiver.received).toHaveLength(d.attempts);
  });

  it('a rolled-back transaction never produces a webhook', async () => {
    const gw = await ctx.extraGateway({ env: SENDER_ENV });
    const { orgId } = await ctx.org();
    const receiver = await Receiver.start();
    await createEndpoint(gw.services, orgId, receiver.url(), [WebhookEventType.KycStatusChanged]);
    const [a, b] = [await seedCustomer(ctx.db, orgId), await seedCustomer(ctx.db, orgId)];
    await expect(
      ctx.db.prisma.$transaction(async (tx) => {
        await applyKycTransition(tx, orgId, a.id, { to: 'PENDING' }, new Date(), SYSTEM_ACTOR);
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    await moveKyc(ctx.db, orgId, b.id, 'PENDING');
    await receiver.waitFor(1);
    await gw.services.webhooks.sender!.wake();
    expect(receiver.received.map((r) => r.json.data.customer.id)).toEqual([b.id]);
  });

  it("tenancy: an organisation's endpoints receive only its events; another organisation's endpoints are invisible and unchangeable", async () => {
    const gw = await ctx.extraGateway({ env: SENDER_ENV });
    const a = await ctx.org();
    const b = await ctx.org();
    const [ra, rb] = [await Receiver.start(), await Receiver.start()];
    const ea = await createEndpoint(gw.services, a.orgId, ra.url(), [WebhookEventType.KycStatusChanged]);
    await createEndpoint(gw.services, b.orgId, rb.url(), [WebhookEventType.KycStatusChanged]);
    const [ca, cb] = [await seedCustomer(ctx.db, a.orgId), await seedCustomer(ctx.db, b.orgId)];
    await moveKyc(ctx.db, a.orgId, ca.id, 'PENDING');
    await moveKyc(ctx.db, b.orgId, cb.id, 'PENDING');
    await Promise.all([ra.waitFor(1), rb.waitFor(1)]);
    await gw.services.webhooks.sender!.wake();
    expect(ra.received.map((r) => r.json.data.customer.id)).toEqual([ca.id]);
    expect(rb.received.map((r) => r.json.data.customer.id)).toEqual([cb.id]);

    // B's key sees only B's endpoint, and every mutation on A's endpoint is not_found.
    const list = await gw.gql(b.key, '{ webhookEndpoints { id url } }');
    expect(list.body.data.webhookEndpoints.map((e: any) => e.url)).toEqual([rb.url()]);
    const eventId = ra.received[0]!.json.id;
    const attemptsOnA = [
      `mutation { updateWebhookEndpoint(id: "${ea.id}", input: { url: "${rb.url('/stolen')}" }) { __typename } }`,
      `mutation { rotateWebhookSecret(id: "${ea.id}") { __typename } }`,
      `mutation { deleteWebhookEndpoint(id: "${ea.id}") { __typename } }`,
      `mutation { redeliverWebhookEvent(endpointId: "${ea.id}", eventId: "${eventId}") { __typename } }`,
      `mutation { replayWebhookEvents(endpointId: "${ea.id}", since: "2020-01-01T00:00:00Z") { __typename } }`,
    ];
    for (const m of attemptsOnA) {
      const r = await gw.gql(b.key, m);
      expect(Object.values(r.body.data as object)[0]).toEqual({ __typename: 'WebhookEndpointNotFoundError' });
    }
    const stillA = await gw.gql(a.key, '{ webhookEndpoints { id url } }');
    expect(stillA.body.data.webhookEndpoints).toEqual([{ id: ea.id, url: ra.url() }]);
  });

  it('management: scope, validation, update, the delivery log, redelivery and replay with the same webhook-id', async () => {
    const gw = await ctx.extraGateway({ env: SENDER_ENV });
    const { orgId, key, name } = await ctx.org();
    const integrator = await ctx.keyFor(name, [Scope.CustomersRead, Scope.CustomersWrite]);
    const forbidden = await gw.gql(integrator.key, '{ webhookEndpoints { id } }');
    expect(forbidden.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

    const CREATE = `mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) {
      __typename ... on CreateWebhookEndpointSuccess { secret endpoint { id url events description enabled } }
      ... on ValidationError { code fieldErrors { field message } } } }`;
    const bad = await gw.gql(key, CREATE, { input: { url: 'ftp://x', events: [], description: 'x'.repeat(501) } });
    expect(bad.body.data.createWebhookEndpoint).toMatchObject({ __typename: 'ValidationError', code: 'validation_failed' });
    expect(bad.body.data.createWebhookEndpoint.fieldErrors.map((f: any) => f.field)).toEqual(['url', 'events', 'description']);

    const receiver = await Receiver.start();
    const created = await gw.gql(key, CREATE, {
      input: { url: receiver.url(), events: ['CUSTOMER_KYC_STATUS_CHANGED'], description: 'crm' },
    });
    const endpoint = created.body.data.createWebhookEndpoint.endpoint;
    expect(endpoint).toMatchObject({ url: receiver.url(), events: ['CUSTOMER_KYC_STATUS_CHANGED'], description: 'crm', enabled: true });
    const c = await seedCustomer(ctx.db, orgId);
    const first = recorded(gw.services, endpoint.id);
    await moveKyc(ctx.db, orgId, c.id, 'PENDING');
    await first;

    const LOG = `query { webhookEndpoints { id deliveries(first: 10) { edges { node { eventId eventType status attempts lastStatusCode lastError nextAttemptAt deliveredAt } } pageInfo { hasNextPage } } } }`;
    const log = await gw.gql(key, LOG);
    const [node] = log.body.data.webhookEndpoints[0].deliveries.edges.map((e: any) => e.node);
    expect(node).toMatchObject({
      eventId: receiver.received[0]!.headers['webhook-id'],
      eventType: 'CUSTOMER_KYC_STATUS_CHANGED',
      status: 'DELIVERED',
      attempts: 1,
      lastStatusCode: 200,
      lastError: null,
      nextAttemptAt: null,
    });

    // Redelivery: the same webhook-id again.
    const again = recorded(gw.services, endpoint.id);
    const re = await gw.gql(
      key,
      `mutation { redeliverWebhookEvent(endpointId: "${endpoint.id}", eventId: "${node.eventId}") { __typename ... on RedeliverWebhookEventSuccess { delivery { status attempts } } } }`,
    );
    expect(re.body.data.redeliverWebhookEvent).toMatchObject({
      __typename: 'RedeliverWebhookEventSuccess',
      delivery: { status: 'PENDING', attempts: 0 },
    });
    await again;
    expect(receiver.received[1]!.headers['webhook-id']).toBe(node.eventId);
    const unknown = await gw.gql(
      key,
      `mutation { redeliverWebhookEvent(endpointId: "${endpoint.id}", eventId: "evt_1_customer_created") { __typename } }`,
    );
    expect(unknown.body.data.redeliverWebhookEvent.__typename).toBe('WebhookEventNotFoundError');

    // Disabled: nothing is sent; replay queues the events since a time again once enabled.
    const off = await gw.gql(
      key,
      `mutation { updateWebhookEndpoint(id: "${endpoint.id}", input: { enabled: false }) { __typename ... on UpdateWebhookEndpointSuccess { endpoint { enabled } } } }`,
    );
    expect(off.body.data.updateWebhookEndpoint.endpoint.enabled).toBe(false);
    await moveKyc(ctx.db, orgId, c.id, 'IN_PROGRESS');
    await gw.services.webhooks.sender!.wake();
    expect(receiver.received).toHaveLength(2);
    await gw.gql(key, `mutation { updateWebhookEndpoint(id: "${endpoint.id}", input: { enabled: true }) { __typename } }`);
    const since = new Date(Date.now() - 60_000).toISOString();
    const replay = await gw.gql(
      key,
      `mutation { replayWebhookEvents(endpointId: "${endpoint.id}", since: "${since}") { __typename ... on ReplayWebhookEventsSuccess { queued resumeFrom } } }`,
    );
    expect(replay.body.data.replayWebhookEvents).toEqual({ __typename: 'ReplayWebhookEventsSuccess', queued: 2, resumeFrom: null });
    await receiver.waitFor(4);
    expect(receiver.received.slice(2).map((r) => r.json.data.previous.kyc_status)).toEqual(['NOT_STARTED', 'PENDING']);
    expect(receiver.received[2]!.headers['webhook-id']).toBe(node.eventId);

    const deleted = await gw.gql(
      key,
      `mutation { deleteWebhookEndpoint(id: "${endpoint.id}") { __typename ... on DeleteWebhookEndpointSuccess { deletedId } } }`,
    );
    expect(deleted.body.data.deleteWebhookEndpoint).toEqual({ __typename: 'DeleteWebhookEndpointSuccess', deletedId: endpoint.id });
    expect((await gw.gql(key, '{ webhookEndpoints { id } }')).body.data.webhookEndpoints).toEqual([]);
  });

  it('under a stream of changes every first attempt starts within 1 s of its commit (fan-outs coalesce, at most 100 ms)', async () => {
    const gw = await ctx.extraGateway({ env: SENDER_ENV });
    const { orgId } = await ctx.org();
    const receiver = await Receiver.start();
    await createEndpoint(gw.services, orgId, receiver.url(), [WebhookEventType.KycStatusChanged]);
    const customers = await Promise.all(Array.from({ length: 20 }, () => seedCustomer(ctx.db, orgId)));
    const committedAt = new Map<string, number>();
    for (const c of customers) {
      await moveKyc(ctx.db, orgId, c.id, 'PENDING');
      committedAt.set(c.id, performance.now());
    }
    await receiver.waitFor(customers.length);
    const latencies = receiver.received.map((r) => r.at - committedAt.get(r.json.data.customer.id)!);
    console.info(`stream of 20 changes: first attempt at most ${Math.max(...latencies).toFixed(0)} ms after the commit`);
    expect(latencies).toHaveLength(20);
    for (const l of latencies) expect(l).toBeLessThan(1000);
    // In commit order, too.
    expect(receiver.received.map((r) => r.json.data.customer.id)).toEqual(customers.map((c) => c.id));
  });

  it('a hanging endpoint does not delay another organisation’s endpoint by more than 1 s', async () => {
    const gw = await ctx.extraGateway({ env: SENDER_ENV });
    const slow = await ctx.org();
    const fast = await ctx.org();
    const hanging = await Receiver.start(() => 'hang');
    const quick = await Receiver.start();
    await createEndpoint(gw.services, slow.orgId, hanging.url(), [WebhookEventType.KycStatusChanged]);
    await createEndpoint(gw.services, fast.orgId, quick.url(), [WebhookEventType.KycStatusChanged]);
    const slowCustomers = await Promise.all(Array.from({ length: 5 }, () => seedCustomer(ctx.db, slow.orgId)));
    for (const c of slowCustomers) await moveKyc(ctx.db, slow.orgId, c.id, 'PENDING');
    await hanging.waitFor(1);
    const c = await seedCustomer(ctx.db, fast.orgId);
    const t0 = performance.now();
    await moveKyc(ctx.db, fast.orgId, c.id, 'PENDING');
    await quick.waitFor(1);
    const latency = quick.received[0]!.at - t0;
    console.info(`other organisation's webhook while one endpoint hangs: ${latency.toFixed(0)} ms`);
    expect(latency).toBeLessThan(1000);
    // The hanging endpoint gets one attempt at a time.
    expect(hanging.received).toHaveLength(1);
  });

  it('the delivery log keeps finished deliveries 30 days; pending ones are never purged', async () => {
    const gw = await ctx.extraGateway({ env: { ...SENDER_ENV, WEBHOOK_CONCURRENCY: '0' } });
    const { orgId } = await ctx.org();
    const { id } = await createEndpoint(gw.services, orgId, 'https://hooks.example.com/in', [WebhookEventType.CustomerCreated]);
    const old = new Date(Date.now() - (DELIVERY_LOG_DAYS + 1) * 86_400_000);
    const row = (n: number, status: 'DELIVERED' | 'FAILED' | 'PENDING', createdAt: Date) => ({
      orgId,
      endpointId: id,
      customerEventId: BigInt(n),
      eventType: 'customer.created',
      status,
      nextAttemptAt: createdAt,
      deadlineAt: createdAt,
      createdAt,
    });
    await ctx.db.prisma.webhookDelivery.createMany({
      data: [row(1, 'DELIVERED', old), row(2, 'FAILED', old), row(3, 'PENDING', old), row(4, 'DELIVERED', new Date())],
    });
    expect(await purgeFinishedDeliveries(ctx.db.prisma, new Date(Date.now() - DELIVERY_LOG_DAYS * 86_400_000))).toBe(2);
    const left = await deliveriesOf(id);
    expect(left.map((d) => Number(d.customerEventId))).toEqual([3, 4]);
  });

  it('with WEBHOOK_SECRET_KEY, secrets are stored encrypted (bound to their row) and still sign; another key cannot sign', async () => {
    const KEY = 'k'.repeat(40);
    const gw = await ctx.extraGateway({ env: { ...SENDER_ENV, WEBHOOK_SECRET_KEY: KEY } });
    const { orgId } = await ctx.org();
    const receiver = await Receiver.start();
    const { id, secret } = await createEndpoint(gw.services, orgId, receiver.url(), [WebhookEventType.KycStatusChanged]);
    const [stored] = await ctx.db.prisma.webhookSecret.findMany({ where: { endpointId: id } });
    expect(stored!.secret).toMatch(/^enc:v1:/);
    expect(stored!.secret).not.toContain(secret.slice(6));
    const c = await seedCustomer(ctx.db, orgId);
    const first = recorded(gw.services, id);
    await moveKyc(ctx.db, orgId, c.id, 'PENDING');
    await first;
    expect(new Webhook(secret).verify(receiver.received[0]!.body, receiver.received[0]!.headers)).toMatchObject({
      type: 'customer.kyc_status_changed',
    });
    await gw.close();

    // An instance with another key cannot read the secret: nothing is sent, the attempt is retried later.
    const wrong = await ctx.extraGateway({ env: { ...SENDER_ENV, WEBHOOK_SECRET_KEY: 'x'.repeat(40) } });
    const second = recorded(wrong.services, id);
    await moveKyc(ctx.db, orgId, c.id, 'IN_PROGRESS');
    await second;
    const [d] = await ctx.db.prisma.webhookDelivery.findMany({ where: { endpointId: id, status: 'PENDING' } });
    expect(d!.lastError).toMatch(/secret .*WEBHOOK_SECRET_KEY/);
    expect(receiver.received).toHaveLength(1);
    // A ciphertext copied onto another row does not decrypt there (the row id is authenticated).
    const box = new SecretBox(KEY);
    expect(box.open(stored!.secret, stored!.id)).toBe(secret);
    expect(() => box.open(stored!.secret, crypto.randomUUID())).toThrow(SecretUnavailableError);
    // Without the variable secrets are stored as they are (and say so).
    expect(new SecretBox(undefined).seal(secret, stored!.id)).toBe(`plain:${secret}`);
  });

  it('configuration: safe defaults, and every bad webhook variable named', () => {
    const d = loadConfig({});
    expect(d).toMatchObject({
      webhookAllowInsecure: false,
      webhookAllowPrivateNetworks: false,
      webhookSecretKey: undefined,
      webhookTimeoutMs: 10_000,
      webhookConcurrency: 16,
      webhookPipelining: 10,
      webhookSenderThread: true,
    });
    expect(loadConfig({ WEBHOOK_SENDER_THREAD: 'false' }).webhookSenderThread).toBe(false);
    expect(() =>
      loadConfig({
        WEBHOOK_ALLOW_INSECURE: 'yes',
        WEBHOOK_TIMEOUT_MS: '30000',
        WEBHOOK_SECRET_KEY: 'short',
        WEBHOOK_CONCURRENCY: '-1',
        WEBHOOK_PIPELINING: '21',
        WEBHOOK_SENDER_THREAD: 'no',
      }),
    ).toThrow(
      /WEBHOOK_ALLOW_INSECURE[\s\S]*WEBHOOK_TIMEOUT_MS[\s\S]*WEBHOOK_CONCURRENCY[\s\S]*WEBHOOK_PIPELINING[\s\S]*WEBHOOK_SENDER_THREAD[\s\S]*WEBHOOK_SECRET_KEY/,
    );
  });

  /** Three KYC changes committed together (one fan-out round: three deliveries queued at once). */
  async function threeChanges(orgId: string) {
    const customers = [await seedCustomer(ctx.db, orgId), await seedCustomer(ctx.db, orgId), await seedCustomer(ctx.db, orgId)];
    await ctx.db.prisma.$transaction(async (tx) => {
      for (const c of customers) await applyKycTransition(tx, orgId, c.id, { to: 'PENDING' }, new Date(), SYSTEM_ACTOR);
    });
    return customers.map((c) => c.id);
  }

  const STATE = `{ webhookEndpoints { failureCount pausedUntil } }`;

  it('one request at a time (WEBHOOK_PIPELINING=1): a failing endpoint is paused for its backoff (its other deliveries wait), then resumes in order and is reset', async () => {
    const clock = new TestClock();
    const gw = await ctx.extraGateway({ env: { ...SENDER_ENV, WEBHOOK_PIPELINING: '1' }, now: clock.now, random: () => 0.5 });
    const { orgId, key } = await ctx.org();
    const receiver = await Receiver.start((n) => (n === 0 ? 500 : 200));
    const { id } = await createEndpoint(gw.services, orgId, receiver.url(), [WebhookEventType.KycStatusChanged]);
    const first = recorded(gw.services, id);
    const customers = await threeChanges(orgId);
    await first;
    await gw.services.webhooks.sender!.wake();
    // One attempt failed; the two others were not tried: the endpoint rests.
    expect(receiver.received).toHaveLength(1);
    const paused = (await gw.gql(key, STATE)).body.data.webhookEndpoints[0];
    expect(paused.failureCount).toBe(1);
    const until = new Date(paused.pausedUntil);
    expect(until.getTime() - clock.now().getTime()).toBeGreaterThan(nominalDelay(1) - 1000);
    const rest = recorded(gw.services, id, 3);
    clock.set(until);
    await gw.services.webhooks.sender!.wake();
    await rest;
    // Back in commit order (the retried one first: it is the oldest), and healthy again.
    expect(receiver.received.map((r) => r.json.data.customer.id)).toEqual([customers[0], ...customers]);
    expect((await gw.gql(key, STATE)).body.data.webhookEndpoints[0]).toEqual({ failureCount: 0, pausedUntil: null });
  });

  it('pipelined (the default): attempts behind a failed one were already sent; they are recorded, the failed one is retried after the pause', async () => {
    const clock = new TestClock();
    const gw = await ctx.extraGateway({ env: SENDER_ENV, now: clock.now, random: () => 0.5 });
    const { orgId, key } = await ctx.org();
    // The first answer shows the connection stays open (from then on the endpoint is pipelined
    // to); the second is a failure, with the third already sent behind it.
    const receiver = await Receiver.start((n) => (n === 1 ? 500 : 200));
    const { id } = await createEndpoint(gw.services, orgId, receiver.url(), [WebhookEventType.KycStatusChanged]);
    const first = recorded(gw.services, id, 3);
    const customers = await threeChanges(orgId);
    await first;
    await gw.services.webhooks.sender!.wake();
    expect(receiver.received.map((r) => r.json.data.customer.id)).toEqual(customers);
    const rows = await ctx.db.prisma.webhookDelivery.findMany({ where: { endpointId: id }, orderBy: { id: 'asc' } });
    expect(rows.map((d) => [d.status, d.attempts, d.lastStatusCode])).toEqual([
      ['DELIVERED', 1, 200],
      ['PENDING', 1, 500],
      ['DELIVERED', 1, 200],
    ]);
    const paused = (await gw.gql(key, STATE)).body.data.webhookEndpoints[0];
    expect(paused.failureCount).toBe(1);
    const until = new Date(paused.pausedUntil);
    expect(until.getTime() - clock.now().getTime()).toBeGreaterThan(nominalDelay(1) - 1000);
    const retried = recorded(gw.services, id);
    clock.set(until);
    await gw.services.webhooks.sender!.wake();
    await retried;
    expect(receiver.received.map((r) => r.json.data.customer.id)).toEqual([...customers, customers[1]]);
    expect(new Set(receiver.received.map((r) => r.headers['webhook-id'])).size).toBe(3);
    expect((await gw.gql(key, STATE)).body.data.webhookEndpoints[0]).toEqual({ failureCount: 0, pausedUntil: null });
  });

  it('a receiver that closes its connection after each answer is sent one request at a time: no duplicates, in order', async () => {
    const gw = await ctx.extraGateway({ env: SENDER_ENV });
    const { orgId } = await ctx.org();
    // Node's server still runs requests pipelined behind a `Connection: close` answer; had they
    // been pipelined, each would arrive again on the next connection.
    const receiver = await Receiver.start(() => ({ status: 200, headers: { connection: 'close' } }));
    const { id } = await createEndpoint(gw.services, orgId, receiver.url(), [WebhookEventType.KycStatusChanged]);
    const done = recorded(gw.services, id, 3);
    const customers = await threeChanges(orgId);
    await done;
    expect(receiver.received.map((r) => r.json.data.customer.id)).toEqual(customers);
    expect(new Set(receiver.received.map((r) => r.connection)).size).toBe(3);
  });

  it("an endpoint's attempts are pipelined in commit order on its own connection; another endpoint on the same host has its own", async () => {
    const gw = await ctx.extraGateway({ env: SENDER_ENV });
    const { orgId } = await ctx.org();
    // Answers a path's first request at once (a new connection sends one request until an answer
    // shows the receiver keeps it open), then holds the second until the third has arrived: only
    // a pipelining sender gets past it (one at a time, it would wait for an answer that never comes).
    const held = new Map<string, Deferred<void>>();
    const seen = new Map<string, number>();
    const receiver = await Receiver.start(async (_n, req) => {
      const path = req.url ?? '';
      const d = held.get(path) ?? deferred();
      held.set(path, d);
      const count = (seen.get(path) ?? 0) + 1;
      seen.set(path, count);
      if (count === 3) d.resolve();
      if (count > 1) await d.promise;
      return 200;
    });
    const a = await createEndpoint(gw.services, orgId, receiver.url('/a'), [WebhookEventType.KycStatusChanged]);
    const b = await createEndpoint(gw.services, orgId, receiver.url('/b'), [WebhookEventType.KycStatusChanged]);
    const done = Promise.all([recorded(gw.services, a.id, 3), recorded(gw.services, b.id, 3)]);
    const customers = await threeChanges(orgId);
    await done;
    const ordered = (path: string) => receiver.received.filter((r) => r.path === path);
    for (const path of ['/a', '/b']) {
      const got = ordered(path);
      expect(got.map((r) => r.json.data.customer.id)).toEqual(customers);
      expect(new Set(got.map((r) => r.connection)).size).toBe(1);
    }
    expect(ordered('/a')[0]!.connection).not.toBe(ordered('/b')[0]!.connection);
    const rows = await ctx.db.prisma.webhookDelivery.findMany({ where: { endpointId: { in: [a.id, b.id] } } });
    expect(rows.map((d) => [d.status, d.attempts])).toEqual(Array.from({ length: 6 }, () => ['DELIVERED', 1]));
  });
  it("the delivery log: newest first across statuses, one status when asked, paged with `after`, never another organisation's", async () => {
    const { orgId } = await ctx.org();
    const other = await ctx.org();
    const { id: endpointId } = await createEndpoint(ctx.gw.services, orgId, 'https://example.invalid/hook', [
      WebhookEventType.CustomerCreated,
    ]);
    const { id: foreign } = await createEndpoint(ctx.gw.services, other.orgId, 'https://example.invalid/hook', [
      WebhookEventType.CustomerCreated,
    ]);
    // Statuses interleaved in id order (as retries and replays leave them); pending ones are not
    // due for a day, so no sender touches them.
    const statuses = ['DELIVERED', 'FAILED', 'DELIVERED', 'PENDING', 'DELIVERED', 'FAILED', 'DELIVERED', 'PENDING', 'DELIVERED'] as const;
    const later = new Date(Date.now() + 86_400_000);
    for (const [i, status] of statuses.entries()) {
      await ctx.db.prisma.webhookDelivery.create({
        data: {
          orgId,
          endpointId,
          customerEventId: BigInt(1000 + i),
          eventType: 'customer.created',
          status,
          nextAttemptAt: later,
          deadlineAt: later,
        },
      });
    }
    await ctx.db.prisma.webhookDelivery.create({
      data: {
        orgId: other.orgId,
        endpointId: foreign,
        customerEventId: 1n,
        eventType: 'customer.created',
        nextAttemptAt: later,
        deadlineAt: later,
      },
    });
    const endpoints = ctx.gw.services.webhooks.endpoints;
    const page = async (p: Parameters<typeof endpoints.deliveries>[2], org = orgId, id = endpointId) => {
      const r = await endpoints.deliveries(org, id, p);
      if (!r.ok) throw new Error(JSON.stringify(r.failure));
      return r.value;
    };
    const events = (p: { deliveries: { eventId: string }[] }) => p.deliveries.map((d) => Number(/^evt_(\d+)_/.exec(d.eventId)![1]));
    const newestFirst = [...statuses.keys()].reverse().map((i) => 1000 + i);

    const first = await page({ first: 4 });
    expect(events(first)).toEqual(newestFirst.slice(0, 4));
    expect(first.hasMore).toBe(true);
    const second = await page({ first: 4, after: deliveryCursor(first.deliveries.at(-1)!) });
    expect(events(second)).toEqual(newestFirst.slice(4, 8));
    const last = await page({ first: 4, after: deliveryCursor(second.deliveries.at(-1)!) });
    expect(events(last)).toEqual(newestFirst.slice(8));
    expect(last.hasMore).toBe(false);

    for (const status of ['DELIVERED', 'FAILED', 'PENDING'] as const) {
      const expected = newestFirst.filter((e) => statuses[e - 1000] === status);
      const one = await page({ first: 2, status });
      expect(one.deliveries.every((d) => d.status === status)).toBe(true);
      expect(events(one)).toEqual(expected.slice(0, 2));
      const rest = await page({ first: 10, status, after: deliveryCursor(one.deliveries.at(-1)!) });
      expect(events(rest)).toEqual(expected.slice(2));
    }
    expect((await page({ first: 0 })).deliveries).toEqual([]);
    // Another organisation's endpoint, asked by its id: nothing of it.
    expect(events(await page({ first: 10 }, orgId, foreign))).toEqual([]);
  });
});

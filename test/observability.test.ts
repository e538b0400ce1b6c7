// Metrics and logs (SPEC section 12) after every surface has been used — REST reads and
// writes, GraphQL queries and mutations, a graphql-ws subscription that receives a status
// change, a webhook endpoint created and delivered to: /metrics shows the counters and
// histograms moving, labelled with route templates and bounded operation names, and carries no
// customer data; every log line a request causes carries its request id, and no line holds a
// key, a webhook secret, an e-mail address or a phone number.
import { randomUUID } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { Scope } from '../src/auth/scopes.js';
import { createLogger } from '../src/ops/logger.js';
import { dbKind } from './helpers/db.js';
import { useGateway, type OrgKey } from './helpers/fixture.js';
import { scrape, sumOf, type Sample } from './helpers/metrics.js';
import { rest } from './helpers/rest.js';
import { Clients, STATUS_SUBSCRIPTION, subscribersAtLeast } from './helpers/subscriptions.js';
import { Receiver, SENDER_ENV } from './helpers/webhooks.js';

const lines: string[] = [];
const ctx = useGateway({ env: { ...SENDER_ENV, LOG_LEVEL: 'debug' }, log: createLogger('debug', (l) => lines.push(l)) });

const EMAIL = `ada.${randomUUID().slice(0, 8)}@example.com`;
const EMAIL_2 = `grace.${randomUUID().slice(0, 8)}@example.org`;
const NAME = 'Ada Quixotic-Lovelace';
const PHONE = '+44 20 7946 0958';
const EXTERNAL_ID = `crm-${randomUUID().slice(0, 8)}`;

interface Exercise {
  org: OrgKey;
  customerId: string;
  secret: string;
  /** Lines logged while the surfaces were used. */
  lines: Record<string, unknown>[];
  raw: string[];
  metrics: { text: string; samples: Sample[] };
  /** Live subscriptions while the subscriber was connected. */
  live: number;
}

let run: Exercise;

// The later tests read what this one recorded (tests of a file run in order).
it('uses every surface once or twice, as a client would', async () => {
  const clients = new Clients();
  const receiver = await Receiver.start();
  try {
    const org = await ctx.org(undefined, { label: 'observability' });
    const from = lines.length;
    const h = { 'Idempotency-Key': `k-${randomUUID()}` };
    const body = { externalId: EXTERNAL_ID, fullName: NAME, email: EMAIL, phone: PHONE };
    const created = await rest(ctx.gw.url, org.key, 'POST', '/api/v1/customers', body, h);
    expect(created.status).toBe(201);
    const customerId: string = created.body.id;
    expect((await rest(ctx.gw.url, org.key, 'POST', '/api/v1/customers', body, h)).headers.get('idempotent-replayed')).toBe('true');
    const conflicting = await rest(ctx.gw.url, org.key, 'POST', '/api/v1/customers', { ...body, fullName: 'Another Name' }, h);
    expect(conflicting.body.error.code).toBe('idempotency_conflict');
    expect((await rest(ctx.gw.url, org.key, 'GET', `/api/v1/customers/${customerId}`)).status).toBe(200);
    expect((await rest(ctx.gw.url, org.key, 'GET', `/api/v1/customers/${EXTERNAL_ID}`)).status).toBe(200);
    expect((await rest(ctx.gw.url, org.key, 'GET', '/api/v1/customers?limit=5')).status).toBe(200);
    expect((await rest(ctx.gw.url, org.key, 'PATCH', `/api/v1/customers/${customerId}`, { phone: PHONE })).status).toBe(200);
    expect((await rest(ctx.gw.url, org.key, 'GET', `/api/v1/customers/no-such-${randomUUID()}`)).status).toBe(404);

    const upsert = `mutation Ingest($input: UpsertCustomerInput!, $key: String) {
      upsertCustomer(input: $input, idempotencyKey: $key) { ... on UpsertCustomerSuccess { replayed customer { id } } } }`;
    const input = { fullName: 'Grace Hopper-Quixote', email: EMAIL_2, phone: PHONE };
    const first = await ctx.gw.gql(org.key, upsert, { input, key: 'gql-1' });
    expect(first.body.data.upsertCustomer.replayed).toBe(false);
    expect((await ctx.gw.gql(org.key, upsert, { input, key: 'gql-1' })).body.data.upsertCustomer.replayed).toBe(true);
    const other = await ctx.gw.gql(
      org.key,
      upsert.replace('replayed customer { id } }', 'replayed customer { id } } ... on Error { code }'),
      {
        input: { ...input, fullName: 'Someone Else' },
        key: 'gql-1',
      },
    );
    expect(other.body.data.upsertCustomer.code).toBe('idempotency_conflict');
    const page = await ctx.gw.gql(org.key, 'query Dashboard { customers(first: 10) { totalCount edges { node { id email } } } }');
    expect(page.body.data.customers.totalCount).toBe(2);
    // A field error (FORBIDDEN) counted by code.
    const { key: writer } = await ctx.keyFor(org.name, [Scope.CustomersWrite]);
    expect((await ctx.gw.gql(writer, 'query Forbidden { customers(first: 1) { totalCount } }')).body.errors?.[0]?.extensions?.code).toBe(
      'FORBIDDEN',
    );

    const hook = await ctx.gw.gql(
      org.key,
      `mutation Hook($url: String!) { createWebhookEndpoint(input: { url: $url, events: [CUSTOMER_KYC_STATUS_CHANGED], description: "crm" }) {
        ... on CreateWebhookEndpointSuccess { secret endpoint { id } } } }`,
      { url: receiver.url() },
    );
    const secret: string = hook.body.data.createWebhookEndpoint.secret;
    expect(secret).toMatch(/^whsec_/);

    const sub = clients.subscribe(clients.ws(ctx.gw.url, org.key), {}, STATUS_SUBSCRIPTION);
    await subscribersAtLeast(ctx.gw.services.bus, 1);
    const moved = await ctx.gw.gql(org.key, `mutation Move($id: ID!) { transitionKyc(id: $id, to: PENDING) { __typename } }`, {
      id: customerId,
    });
    expect(moved.body.data.transitionKyc.__typename).toBe('TransitionKycSuccess');
    await sub.waitFor(1);
    await receiver.waitFor(1);
    const live = sumOf((await scrape(ctx.gw.url)).samples, 'gateway_subscriptions');
    await clients.closeAll();
    await vi.waitFor(() => expect(ctx.gw.services.bus.subscriberCount).toBe(0));
    // The attempt is counted once its result is in; the subscription's line once it has ended.
    const metrics = await vi.waitFor(async () => {
      const m = await scrape(ctx.gw.url);
      expect(sumOf(m.samples, 'gateway_webhook_attempts_total', { outcome: 'delivered' })).toBeGreaterThanOrEqual(1);
      expect(sumOf(m.samples, 'gateway_requests_total', { surface: 'websocket', operation: 'connection' })).toBe(1);
      return m;
    });
    const raw = lines.slice(from);
    run = { org, customerId, secret, raw, lines: raw.map((l) => JSON.parse(l) as Record<string, unknown>), metrics, live };
  } finally {
    await clients.closeAll();
    await receiver.close();
  }
}, 60_000);

describe(`GET /metrics after every surface was used (${dbKind})`, () => {
  it('counts requests by surface, route template or operation name, and status, with duration histograms', () => {
    const s = run.metrics.samples;
    const count = (labels: Record<string, string>) => sumOf(s, 'gateway_requests_total', labels);
    // The first request and its replay (a replay answers the stored status).
    expect(count({ surface: 'rest', operation: 'POST /api/v1/customers', status: '201', outcome: 'ok' })).toBe(2);
    expect(count({ surface: 'rest', operation: 'GET /api/v1/customers/{id}', status: '200' })).toBe(2);
    expect(count({ surface: 'rest', operation: 'GET /api/v1/customers/{id}', status: '404', outcome: 'client_error' })).toBe(1);
    expect(count({ surface: 'rest', operation: 'PATCH /api/v1/customers/{id}', status: '200' })).toBe(1);
    expect(count({ surface: 'graphql', operation: 'Ingest', status: '200' })).toBe(3);
    expect(count({ surface: 'graphql', operation: 'Dashboard', status: '200', outcome: 'ok' })).toBe(1);
    expect(count({ surface: 'graphql', operation: 'Forbidden', status: '200', outcome: 'client_error' })).toBe(1);
    expect(count({ surface: 'websocket', operation: 'S', status: '200' })).toBe(1);
    expect(count({ surface: 'websocket', operation: 'connection', status: '101' })).toBe(1);
    const hist = (labels: Record<string, string>) => sumOf(s, 'gateway_request_duration_seconds_count', labels);
    expect(hist({ surface: 'rest', operation: 'GET /api/v1/customers/{id}' })).toBe(3);
    expect(hist({ surface: 'graphql', operation: 'Dashboard' })).toBe(1);
    expect(sumOf(s, 'gateway_request_duration_seconds_bucket', { surface: 'graphql', operation: 'Dashboard', le: '+Inf' })).toBe(1);
    // A subscription is counted, its lifetime is not a request duration.
    expect(hist({ surface: 'websocket', operation: 'S' })).toBe(0);
  });

  it('counts GraphQL errors by code, idempotent replays, live subscriptions, deliveries, the pool and webhook attempts', () => {
    const s = run.metrics.samples;
    expect(sumOf(s, 'gateway_graphql_errors_total', { surface: 'graphql', code: 'FORBIDDEN' })).toBe(1);
    expect(sumOf(s, 'gateway_idempotency_total', { surface: 'rest', result: 'replayed' })).toBe(1);
    expect(sumOf(s, 'gateway_idempotency_total', { surface: 'graphql', result: 'replayed' })).toBe(1);
    expect(sumOf(s, 'gateway_idempotency_total', { surface: 'rest', result: 'conflict' })).toBe(1);
    expect(sumOf(s, 'gateway_idempotency_total', { surface: 'graphql', result: 'conflict' })).toBe(1);
    expect(run.live).toBe(1);
    expect(sumOf(s, 'gateway_subscriptions')).toBe(0);
    expect(sumOf(s, 'gateway_status_change_delivery_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(sumOf(s, 'gateway_db_pool_connections', { state: 'max' })).toBeGreaterThanOrEqual(1);
    expect(s.some((x) => x.name === 'gateway_db_pool_waiting')).toBe(true);
    expect(sumOf(s, 'gateway_webhook_attempts_total', { outcome: 'delivered' })).toBeGreaterThanOrEqual(1);
    expect(s.some((x) => x.name === 'gateway_webhook_oldest_pending_seconds')).toBe(true);
    expect(s.some((x) => x.name === 'process_cpu_user_seconds_total')).toBe(true);
    expect(s.some((x) => x.name === 'nodejs_eventloop_lag_seconds')).toBe(true);
  });

  it('no label carries a key, an e-mail, a name, an id or any other customer data; routes are templates', () => {
    const { text } = run.metrics;
    for (const secret of [
      run.org.key,
      run.org.key.slice(0, 12),
      run.secret,
      EMAIL,
      EMAIL_2,
      NAME,
      PHONE,
      EXTERNAL_ID,
      run.customerId,
      run.org.orgId,
      run.org.id,
    ]) {
      expect(text, secret).not.toContain(secret);
    }
    expect(text).not.toMatch(/@example\./);
    expect(text).not.toMatch(/Quixot/);
    for (const s of run.metrics.samples) {
      for (const value of Object.values(s.labels)) expect(value, s.name).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-/);
    }
  });
});

describe(`logs of every surface (${dbKind})`, () => {
  it('every line a request causes carries its request id; one access line per HTTP request and per WebSocket operation', () => {
    expect(run.lines.length).toBeGreaterThan(10);
    for (const line of run.lines) expect(line.requestId, JSON.stringify(line)).toEqual(expect.any(String));
    const access = run.lines.filter((l) => l.msg === 'access');
    for (const a of access) {
      expect(a).toMatchObject({
        surface: expect.stringMatching(/^(rest|graphql|websocket|http)$/),
        operation: expect.any(String),
        status: expect.any(Number),
        outcome: expect.any(String),
        durationMs: expect.any(Number),
      });
    }
    const ofRest = access.filter((a) => a.surface === 'rest');
    expect(ofRest.map((a) => `${String(a.operation)} ${String(a.status)}`)).toEqual([
      'POST /api/v1/customers 201',
      'POST /api/v1/customers 201',
      'POST /api/v1/customers 409',
      'GET /api/v1/customers/{id} 200',
      'GET /api/v1/customers/{id} 200',
      'GET /api/v1/customers 200',
      'PATCH /api/v1/customers/{id} 200',
      'GET /api/v1/customers/{id} 404',
    ]);
    expect(ofRest.every((a) => a.keyId === run.org.id && a.orgId === run.org.orgId)).toBe(true);
    // Request ids are unique per request.
    expect(new Set(access.map((a) => a.requestId)).size).toBe(access.length);
    const ws = access.filter((a) => a.surface === 'websocket');
    expect(ws.map((a) => a.operation).sort()).toEqual(['S', 'connection']);
    const op = ws.find((a) => a.operation === 'S')!;
    const connection = ws.find((a) => a.operation === 'connection')!;
    expect(op.connectionId).toBe(connection.requestId);
  });

  it('no line holds an API key, a webhook secret, an e-mail address or a phone number', () => {
    const all = run.raw.join('\n');
    for (const secret of [run.org.key, run.secret, EMAIL, EMAIL_2, PHONE, NAME]) expect(all, secret).not.toContain(secret);
    expect(all).not.toMatch(/ic_live_[A-Za-z0-9_-]{20,}/);
    expect(all).not.toMatch(/whsec_/);
    expect(all).not.toMatch(/[\w.+-]+@[\w-]+\.[\w.]+/);
    expect(all).not.toContain(PHONE.replace(/\D/g, ''));
  });

  it('redacts an Authorization header or a connection_init payload that reaches a log call', () => {
    const captured: string[] = [];
    const log = createLogger('info', (l) => captured.push(l));
    log.info({ headers: { authorization: `Bearer ${run.org.key}` }, connectionParams: { authorization: run.org.key } }, 'oops');
    expect(captured.join('')).not.toContain(run.org.key);
    expect(JSON.parse(captured[0]!)).toMatchObject({ headers: { authorization: '[redacted]' }, connectionParams: '[redacted]' });
  });
});

describe(`METRICS_PORT (${dbKind})`, () => {
  it('serves the metrics on their own port, and not on the main one', async () => {
    const gw = await ctx.extraGateway({ env: { METRICS_PORT: '0' } });
    expect(gw.server.metricsPort).toEqual(expect.any(Number));
    expect((await fetch(`${gw.url}/metrics`)).status).toBe(404);
    const m = await scrape(`http://127.0.0.1:${gw.server.metricsPort}`);
    expect(m.samples.some((s) => s.name === 'gateway_requests_total')).toBe(true);
    expect((await fetch(`http://127.0.0.1:${gw.server.metricsPort}/readyz`)).status).toBe(404);
  });
});

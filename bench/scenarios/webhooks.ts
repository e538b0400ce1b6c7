// Scenario: webhooks. (1) Commit-to-receipt latency of 1,000 KYC changes sent to 10 endpoints
// (receivers in this process on 127.0.0.1), measured from the mutation's request (sent before
// its commit, so an upper bound). (2) The write path's cost of the sender: REST upsert
// throughput in rounds alternating between no endpoint and one endpoint receiving every
// creation (at least 6 of each, BENCH_PEER_ROUNDS for more), against the machine's drift. The
// gateway runs its sender as deployed: in its own thread (WEBHOOK_SENDER_THREAD=false in the
// bench's environment runs it inline, for comparison); the gateway's CPU counts both threads.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { poolSize, uniqueTag, type BenchContext, type Scenario } from '../lib/context.js';
import { startGatewayProcess } from '../lib/gateway.js';
import { percentile } from '../lib/load.js';
import { alternate, peerRounds, type SideBySide } from '../lib/rounds.js';
import { ms, num, rate, record } from '../lib/report.js';
import { startCountingReceiver } from '../lib/receiver.js';
import { upsertBody } from '../lib/requests.js';

/** Status changes of part 1 (BENCH_WEBHOOK_CHANGES, default 1000). */
const CHANGES = Number(process.env.BENCH_WEBHOOK_CHANGES ?? 1000);
/** Endpoints of part 1 (BENCH_WEBHOOK_ENDPOINTS, default 10). */
const ENDPOINTS = Number(process.env.BENCH_WEBHOOK_ENDPOINTS ?? 10);
/** Clients sending the changes at once. */
const WRITERS = 8;
const DELIVERY_TIMEOUT_MS = 180_000;
/** Rounds a side of part (2), at least (BENCH_PEER_ROUNDS can ask for more). */
const WRITE_COST_ROUNDS = 6;

const CREATE = `mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { __typename ... on CreateWebhookEndpointSuccess { endpoint { id } } ... on Error { code message } } }`;
const DELETE = `mutation($id: ID!) { deleteWebhookEndpoint(id: $id) { __typename } }`;
const TRANSITION = `mutation($id: ID!) { transitionKyc(id: $id, to: PENDING) { __typename ... on Error { code message } } }`;

export const webhooksScenario: Scenario = async (ctx) => {
  console.log(`\n# webhooks: ${CHANGES} status changes to ${ENDPOINTS} endpoints; upsert throughput with and without an endpoint`);
  // The receivers are on loopback over http: the gateway under test must allow both. The
  // runner's gateway is swapped for one that does (same handle, so the runner stops this one).
  await ctx.gateway.stop();
  Object.assign(
    ctx.gateway,
    await startGatewayProcess(ctx.db.url, {
      DATABASE_POOL_SIZE: String(poolSize),
      WEBHOOK_ALLOW_INSECURE: 'true',
      WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
    }),
  );
  const receipts: { path: string; customerId: string; at: number }[] = [];
  let onReceipt: (() => void) | undefined;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const at = performance.now();
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { data: { customer: { id: string } } };
      receipts.push({ path: req.url ?? '', customerId: body.data.customer.id, at });
      res.writeHead(204).end();
      onReceipt?.();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  try {
    await latency(ctx, port, receipts, (f) => (onReceipt = f));
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  // Part (2) only counts what arrives, with a receiver that does as little as it can: it stands
  // for the integrator's machine, so the CPU it takes on this one is not the sender's cost.
  const counting = await startCountingReceiver();
  try {
    await writeCost(ctx, counting.port, () => counting.received());
  } finally {
    await counting.close();
  }
};

async function gql<T>(ctx: BenchContext, query: string, variables: Record<string, unknown>): Promise<T> {
  const res = await fetch(`${ctx.gateway.url}/graphql`, {
    method: 'POST',
    headers: ctx.headers,
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: T; errors?: unknown };
  if (!body.data) throw new Error(`GraphQL: ${JSON.stringify(body)}`);
  return body.data;
}

async function createEndpoint(ctx: BenchContext, url: string, events: string[]): Promise<string> {
  const r = await gql<{ createWebhookEndpoint: { __typename: string; endpoint?: { id: string } } }>(ctx, CREATE, {
    input: { url, events },
  });
  if (!r.createWebhookEndpoint.endpoint) throw new Error(`createWebhookEndpoint: ${JSON.stringify(r)}`);
  return r.createWebhookEndpoint.endpoint.id;
}

async function pool<T>(items: T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

async function latency(
  ctx: BenchContext,
  port: number,
  receipts: { path: string; customerId: string; at: number }[],
  arm: (f: () => void) => void,
) {
  const customers: string[] = [];
  await pool(
    Array.from({ length: CHANGES }, (_, i) => i),
    16,
    async () => {
      const res = await fetch(`${ctx.gateway.url}/api/v1/customers`, {
        method: 'POST',
        headers: ctx.headers,
        body: JSON.stringify(upsertBody(uniqueTag('wh'))),
      });
      const body = (await res.json()) as { id?: string };
      if (!body.id) throw new Error(`upsert: ${res.status} ${JSON.stringify(body)}`);
      customers.push(body.id);
    },
  );
  const endpoints = await Promise.all(
    Array.from({ length: ENDPOINTS }, (_, i) => createEndpoint(ctx, `http://127.0.0.1:${port}/e${i}`, ['CUSTOMER_KYC_STATUS_CHANGED'])),
  );
  const expected = CHANGES * ENDPOINTS;
  const all = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`only ${receipts.length} of ${expected} webhooks within ${DELIVERY_TIMEOUT_MS} ms`)),
      DELIVERY_TIMEOUT_MS,
    );
    arm(() => {
      if (receipts.length < expected) return;
      clearTimeout(timer);
      resolve();
    });
  });
  const sentAt = new Map<string, number>();
  const ackedAt = new Map<string, number>();
  const t0 = performance.now();
  await pool(customers, WRITERS, async (id) => {
    sentAt.set(id, performance.now());
    const r = await gql<{ transitionKyc: { __typename: string } }>(ctx, TRANSITION, { id });
    if (r.transitionKyc.__typename !== 'TransitionKycSuccess') throw new Error(`transitionKyc: ${JSON.stringify(r)}`);
    ackedAt.set(id, performance.now());
  });
  const writeSeconds = (performance.now() - t0) / 1000;
  await all;
  const latencies = receipts.map((r) => r.at - sentAt.get(r.customerId)!).sort((a, b) => a - b);
  const p50 = percentile(latencies, 50);
  const p99 = percentile(latencies, 99);
  // From the mutation's answer (the commit is before it): a lower bound of the same latency.
  const fromAck = receipts.map((r) => Math.max(0, r.at - ackedAt.get(r.customerId)!)).sort((a, b) => a - b);
  // Where the time went, from the gateway's own records: the event's time (its transaction's
  // clock) → queued by the fan-out → the attempt that delivered it started.
  const split = await ctx.pool.query<{ fan50: number; fan99: number; wait50: number; wait99: number }>(
    `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY q.fan) AS fan50, percentile_cont(0.99) WITHIN GROUP (ORDER BY q.fan) AS fan99,
            percentile_cont(0.5) WITHIN GROUP (ORDER BY q.wait) AS wait50, percentile_cont(0.99) WITHIN GROUP (ORDER BY q.wait) AS wait99
     FROM (SELECT extract(epoch FROM d.created_at - e.occurred_at) * 1000 AS fan, extract(epoch FROM d.last_attempt_at - d.created_at) * 1000 AS wait
           FROM webhook_deliveries d JOIN customer_events e ON e.id = d.customer_event_id
           WHERE d.endpoint_id = ANY($1::uuid[]) AND d.status = 'DELIVERED') q`,
    [endpoints],
  );
  const parts = split.rows[0];
  record({
    scenario: 'webhooks',
    subject: `commit-to-receipt, ${CHANGES} changes × ${ENDPOINTS} endpoints`,
    figure: `p99 ${ms(p99)}`,
    target: 'p99 < 1 s',
    met: p99 < 1000,
    note: `from the mutation's request; p50 ${ms(p50)}, max ${ms(latencies.at(-1) ?? 0)}; from its answer p50 ${ms(percentile(fromAck, 50))}, p99 ${ms(percentile(fromAck, 99))}; ${num(expected)} webhooks, changes at ${num(CHANGES / writeSeconds)}/s from ${WRITERS} clients; event → queued p50 ${ms(Number(parts?.fan50 ?? 0))}, p99 ${ms(Number(parts?.fan99 ?? 0))}; queued → attempt p50 ${ms(Number(parts?.wait50 ?? 0))}, p99 ${ms(Number(parts?.wait99 ?? 0))}`,
  });
  await Promise.all(endpoints.map((id) => gql(ctx, DELETE, { id })));
}

/**
 * The write path's cost of the sender: REST upsert rounds alternating without and with one
 * endpoint receiving every creation (created before its round, deleted after), so that the
 * machine's drift falls on both sides alike; per side, the rounds are merged, with the
 * gateway's CPU time per upsert (its sender included).
 */
async function writeCost(ctx: BenchContext, port: number, received: () => number) {
  const load = {
    url: `${ctx.gateway.url}/api/v1/customers`,
    method: 'POST' as const,
    headers: ctx.headers,
    next: () => ({ body: JSON.stringify(upsertBody(uniqueTag('whw'))) }),
  };
  let endpoint = '';
  let queued = 0;
  let delivered = 0;
  // Part (1) left ~10,000 updated and deleted delivery rows and 1,000 moved customers behind it:
  // vacuumed now, so that autovacuum does not take its turn during some rounds and not others.
  await ctx.pool.query('VACUUM ANALYZE');
  // Each round starts from a checkpoint: after one, the first change to each page writes the
  // whole page to the WAL, so write throughput climbs until the next; without this the rounds'
  // place in that cycle, not the sender, decided most of the difference.
  const checkpoint = async () => {
    await ctx.pool.query('CHECKPOINT');
  };
  const [without, withEndpoint] = (await alternate(
    [
      { server: ctx.gateway, load, before: checkpoint },
      {
        server: ctx.gateway,
        load,
        before: async () => {
          await checkpoint();
          endpoint = await createEndpoint(ctx, `http://127.0.0.1:${port}/created`, ['CUSTOMER_CREATED']);
        },
        after: async () => {
          // Whether the sender kept up: what the round queued for the endpoint, and how much of it
          // was delivered by the round's end (a sender that lags costs less than one that keeps up).
          const r = await ctx.pool.query<{ queued: string; delivered: string }>(
            `SELECT count(*) AS queued, count(*) FILTER (WHERE status = 'DELIVERED') AS delivered FROM webhook_deliveries WHERE endpoint_id = $1`,
            [endpoint],
          );
          queued += Number(r.rows[0]?.queued ?? 0);
          delivered += Number(r.rows[0]?.delivered ?? 0);
          await gql(ctx, DELETE, { id: endpoint });
        },
      },
    ],
    // At least 6 rounds a side: on a shared 2-core machine the rounds of one side spread by up to
    // ±20 %, against a difference of about 10 % to measure (bench/README.md, third and fourth passes).
    Math.max(peerRounds, WRITE_COST_ROUNDS),
  )) as [SideBySide, SideBySide];
  const ratio = withEndpoint.rps / without.rps;
  const rounds = (r: SideBySide) => `${r.roundRps.length} rounds: ${r.roundRps.map((x) => num(x)).join(', ')} req/s`;
  // CPU per upsert of every part of the machine: a cost moved from the gateway to PostgreSQL or
  // to the receiver lowers throughput all the same.
  const cpu = (r: SideBySide) => {
    const o = r.otherCpuPerRequest;
    const pg = o.postgres === null ? 'n/a' : num(o.postgres);
    const machine = o.machine === null ? 'n/a' : num(o.machine);
    return `CPU per upsert: gateway ${num(r.cpuPerRequest)} µs, PostgreSQL ${pg} µs, load generator and receiver ${num(o.self)} µs, machine ${machine} µs`;
  };
  record({
    scenario: 'webhooks',
    subject: 'REST upserts with no endpoint (sender idle)',
    figure: rate(without.rps),
    note: `${rounds(without)}; p50 ${ms(without.p50)}, p99 ${ms(without.p99)}, ${cpu(without)}, ${without.statements.toFixed(2)} statements per upsert, errors ${without.errors}`,
  });
  record({
    scenario: 'webhooks',
    subject: 'REST upserts with one endpoint receiving every creation',
    figure: rate(withEndpoint.rps),
    baseline: rate(without.rps),
    ratio,
    target: 'cost < 10 % (≥ 0.9×)',
    met: ratio >= 0.9,
    note: `${rounds(withEndpoint)}, alternating with those without; p50 ${ms(withEndpoint.p50)}, p99 ${ms(withEndpoint.p99)}, ${cpu(withEndpoint)}, ${withEndpoint.statements.toFixed(2)} statements per upsert (the API thread's: the sender's own count only with WEBHOOK_SENDER_THREAD=false), errors ${withEndpoint.errors}; ${num(delivered)} of the ${num(queued)} webhooks queued during the rounds delivered by their ends (${num(received())} received)`,
  });
}

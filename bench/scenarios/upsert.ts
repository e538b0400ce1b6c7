// Scenario 1: fresh upserts (new Idempotency-Key, externalId and email per request) via REST and
// via GraphQL, 32 concurrent clients, against the same SQL transaction sent by raw pg.
import { rawUpsert, rawUpsertBefore, UPSERT_ROUND_TRIPS, UPSERT_ROUND_TRIPS_BEFORE } from '../lib/baseline.js';
import { poolSize, uniqueTag, withStatements, type Scenario } from '../lib/context.js';
import { startClusterGateway } from '../lib/gateway.js';
import { bracket, connections, httpLoad, loopLoad } from '../lib/load.js';
import { ms, num, rate, record } from '../lib/report.js';
import { UPSERT_MUTATION, upsertBody } from '../lib/requests.js';

/** Issue 12's target for both surfaces. */
const UPSERT_TARGET = '≥ 0.7× (issue 12)';

export const upsertScenario: Scenario = async (ctx) => {
  console.log(`\n# 1. upsert, ${connections} concurrent clients`);
  const measureRaw = () => loopLoad(connections, () => rawUpsert(ctx.pool, ctx.db.orgId, uniqueTag('raw')));
  const rawBefore = await measureRaw();
  // Informational: the same work sent statement by statement, as the gateway did before issue 6.
  if (process.env.BENCH_SKIP_BEFORE !== '1') {
    const before = await loopLoad(connections, () => rawUpsertBefore(ctx.pool, ctx.db.orgId, uniqueTag('raw0')));
    record({
      scenario: '1 upsert',
      subject: 'raw pg, the transaction before issue 6',
      figure: rate(before.rps),
      note: `${UPSERT_ROUND_TRIPS_BEFORE} round trips, p50 ${ms(before.p50)}, p99 ${ms(before.p99)}`,
    });
  }

  const rest = await withStatements(ctx, (onMeasureStart) =>
    httpLoad(
      {
        url: `${ctx.gateway.url}/api/v1/customers`,
        method: 'POST',
        headers: ctx.headers,
        next: () => {
          const tag = uniqueTag('rest');
          return { body: JSON.stringify(upsertBody(tag)), headers: { 'idempotency-key': tag } };
        },
      },
      onMeasureStart,
    ),
  );
  const restRow = () => ({
    scenario: '1 upsert',
    subject: 'REST POST /api/v1/customers',
    figure: rate(rest.rps),
    baseline: rate(raw.rps),
    ratio: rest.rps / raw.rps,
    target: UPSERT_TARGET,
    met: rest.rps / raw.rps >= 0.7,
    note: `${num(rest.statements, 1)} statements/request, ${num(rest.cpuPerRequest, 0)} µs CPU/request, p50 ${ms(rest.p50)}, p99 ${ms(rest.p99)}, errors ${rest.errors}`,
  });
  ctx.measured.set('upsert.rest', rest);

  const gql = await withStatements(ctx, (onMeasureStart) =>
    httpLoad(
      {
        url: `${ctx.gateway.url}/graphql`,
        method: 'POST',
        headers: ctx.headers,
        next: () => {
          const tag = uniqueTag('gql');
          return { body: JSON.stringify({ query: UPSERT_MUTATION, variables: { input: upsertBody(tag), key: tag } }) };
        },
        verifyBody: (body) => body.includes('"outcome":"CREATED"'),
      },
      onMeasureStart,
    ),
  );
  const raw = bracket(rawBefore, await measureRaw());
  record({
    scenario: '1 upsert',
    subject: "raw pg, the gateway's transaction",
    figure: rate(raw.rps),
    note: `${UPSERT_ROUND_TRIPS} round trips, mean of before and after the gateway, p50 ${ms(raw.p50)}, p99 ${ms(raw.p99)}`,
  });
  record(restRow());
  record({
    scenario: '1 upsert',
    subject: 'GraphQL upsertCustomer',
    figure: rate(gql.rps),
    baseline: rate(raw.rps),
    ratio: gql.rps / raw.rps,
    target: UPSERT_TARGET,
    met: gql.rps / raw.rps >= 0.7,
    note: `${num(gql.statements, 1)} statements/request, ${num(gql.cpuPerRequest, 0)} µs CPU/request, p50 ${ms(gql.p50)}, p99 ${ms(gql.p99)}, errors ${gql.errors}`,
  });
  ctx.measured.set('upsert.graphql', gql);

  // BENCH_WEB_CONCURRENCY=N: the same REST load on a gateway of N processes (WEB_CONCURRENCY,
  // src/cluster.ts) sharing the same total of pooled connections, against the one-process figure.
  const workers = Number(process.env.BENCH_WEB_CONCURRENCY ?? 0);
  if (workers > 1) {
    const cluster = await startClusterGateway(ctx.db.url, workers, {
      DATABASE_POOL_SIZE: String(Math.max(1, Math.floor(poolSize / workers))),
    });
    const restLoad = (url: string, prefix: string) =>
      httpLoad({
        url: `${url}/api/v1/customers`,
        method: 'POST',
        headers: ctx.headers,
        next: () => {
          const tag = uniqueTag(prefix);
          return { body: JSON.stringify(upsertBody(tag)), headers: { 'idempotency-key': tag } };
        },
      });
    try {
      const many = await restLoad(cluster.url, 'restN');
      // The one-process figure again after the cluster's, and the mean of both: the machine's
      // load drifts between measurements.
      const one = bracket(rest, await restLoad(ctx.gateway.url, 'rest1'));
      record({
        scenario: '1 upsert',
        subject: `REST POST /api/v1/customers, ${workers} workers (WEB_CONCURRENCY=${workers})`,
        figure: rate(many.rps),
        baseline: `1 process ${rate(one.rps)}`,
        ratio: many.rps / one.rps,
        note: `${num(many.rps / raw.rps, 2)}× raw pg, pool ${Math.floor(poolSize / workers)} per worker, p50 ${ms(many.p50)}, p99 ${ms(many.p99)}, errors ${many.errors}`,
      });
    } finally {
      await cluster.stop();
    }
  }
};

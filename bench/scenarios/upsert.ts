// Scenario 1: fresh upserts (new Idempotency-Key, externalId and email per request) via REST and
// via GraphQL, 32 concurrent clients, against the same SQL transaction sent by raw pg.
import { rawUpsert, rawUpsertBefore, UPSERT_ROUND_TRIPS, UPSERT_ROUND_TRIPS_BEFORE } from '../lib/baseline.js';
import { uniqueTag, withStatements, type Scenario } from '../lib/context.js';
import { bracket, connections, httpLoad, loopLoad } from '../lib/load.js';
import { ms, num, rate, record } from '../lib/report.js';
import { UPSERT_MUTATION, upsertBody } from '../lib/requests.js';

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
    target: '≥ 0.7×',
    met: rest.rps / raw.rps >= 0.7,
    note: `${num(rest.statements, 1)} statements/request, p50 ${ms(rest.p50)}, p99 ${ms(rest.p99)}, errors ${rest.errors}`,
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
    target: '≥ 0.7×',
    met: gql.rps / raw.rps >= 0.7,
    note: `${num(gql.statements, 1)} statements/request, p50 ${ms(gql.p50)}, p99 ${ms(gql.p99)}, errors ${gql.errors}`,
  });
  ctx.measured.set('upsert.graphql', gql);
};

// Scenario 2: idempotent replay (the same key and body again and again) against fresh upserts
// of the same run (scenario 1's figures, or measured here when scenario 1 did not run).
import { uniqueTag, withStatements, type BenchContext, type Scenario } from '../lib/context.js';
import { httpLoad, type LoadResult } from '../lib/load.js';
import { ms, num, rate, record } from '../lib/report.js';
import { UPSERT_MUTATION, upsertBody } from '../lib/requests.js';

/** Issue 12: a replay at least 3× a fresh upsert, on both surfaces. */
const REPLAY_RATIO = 3;
const REPLAY_TARGET = `≥ ${REPLAY_RATIO}× (issue 12)`;

async function fresh(ctx: BenchContext, surface: 'rest' | 'graphql'): Promise<LoadResult> {
  const known = ctx.measured.get(`upsert.${surface}`);
  if (known) return known;
  const result = await httpLoad(
    surface === 'rest'
      ? {
          url: `${ctx.gateway.url}/api/v1/customers`,
          method: 'POST',
          headers: ctx.headers,
          next: () => {
            const tag = uniqueTag('rest');
            return { body: JSON.stringify(upsertBody(tag)), headers: { 'idempotency-key': tag } };
          },
        }
      : {
          url: `${ctx.gateway.url}/graphql`,
          method: 'POST',
          headers: ctx.headers,
          next: () => {
            const tag = uniqueTag('gql');
            return { body: JSON.stringify({ query: UPSERT_MUTATION, variables: { input: upsertBody(tag), key: tag } }) };
          },
        },
  );
  ctx.measured.set(`upsert.${surface}`, result);
  return result;
}

export const replayScenario: Scenario = async (ctx) => {
  console.log('\n# 2. idempotent replay vs fresh upsert');
  const restFresh = await fresh(ctx, 'rest');
  const restTag = uniqueTag('replay-rest');
  const restBody = JSON.stringify(upsertBody(restTag));
  const restHeaders = { ...ctx.headers, 'idempotency-key': restTag };
  const first = await fetch(`${ctx.gateway.url}/api/v1/customers`, { method: 'POST', headers: restHeaders, body: restBody });
  if (first.status !== 201) throw new Error(`replay setup: REST answered ${first.status}`);
  const rest = await withStatements(ctx, (onMeasureStart) =>
    httpLoad({ url: `${ctx.gateway.url}/api/v1/customers`, method: 'POST', headers: restHeaders, body: restBody }, onMeasureStart),
  );
  record({
    scenario: '2 replay',
    subject: 'REST replay',
    figure: rate(rest.rps),
    baseline: `fresh REST upsert ${rate(restFresh.rps)}`,
    ratio: rest.rps / restFresh.rps,
    target: REPLAY_TARGET,
    met: rest.rps / restFresh.rps >= REPLAY_RATIO,
    note: `${num(rest.statements, 1)} statements/request, ${num(rest.cpuPerRequest, 0)} µs CPU/request, p50 ${ms(rest.p50)}, p99 ${ms(rest.p99)}, errors ${rest.errors}`,
  });

  const gqlFresh = await fresh(ctx, 'graphql');
  const gqlTag = uniqueTag('replay-gql');
  const gqlBody = JSON.stringify({ query: UPSERT_MUTATION, variables: { input: upsertBody(gqlTag), key: gqlTag } });
  await fetch(`${ctx.gateway.url}/graphql`, { method: 'POST', headers: ctx.headers, body: gqlBody });
  const gql = await withStatements(ctx, (onMeasureStart) =>
    httpLoad(
      {
        url: `${ctx.gateway.url}/graphql`,
        method: 'POST',
        headers: ctx.headers,
        body: gqlBody,
        verifyBody: (b) => b.includes('"replayed":true'),
      },
      onMeasureStart,
    ),
  );
  record({
    scenario: '2 replay',
    subject: 'GraphQL replay',
    figure: rate(gql.rps),
    baseline: `fresh GraphQL upsert ${rate(gqlFresh.rps)}`,
    ratio: gql.rps / gqlFresh.rps,
    target: REPLAY_TARGET,
    met: gql.rps / gqlFresh.rps >= REPLAY_RATIO,
    note: `${num(gql.statements, 1)} statements/request, ${num(gql.cpuPerRequest, 0)} µs CPU/request, p50 ${ms(gql.p50)}, p99 ${ms(gql.p99)}, errors ${gql.errors}`,
  });
};

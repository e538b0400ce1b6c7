// Scenario 5: PostGraphile 5, the peer a team would pick instead of this gateway for GraphQL over
// PostgreSQL, side by side with the gateway on the same database, the same machine and the same
// pages: the dashboard page (50 customers with aml, identity and their 3 newest events) and the
// list of 100 (no events). Both answers are mapped to one shape and must be identical field by
// field before anything is measured; then alternating rounds (gateway, peer, gateway, peer, …),
// one server under load at a time, give each server's throughput, latency and CPU per request.
import { poolSize, type BenchContext, type Scenario } from '../lib/context.js';
import { assertSamePage, fromGateway, fromPeer, type GatewayAnswer, type PeerAnswer } from '../lib/compare.js';
import type { ServerHandle } from '../lib/fork.js';
import type { HttpLoad } from '../lib/load.js';
import { PEER_NAME, startPeerProcess } from '../lib/peer.js';
import { ms, num, rate, record } from '../lib/report.js';
import { dashboardQuery, HISTORY_FIRST, peerDashboardQuery } from '../lib/requests.js';
import { alternate, peerRounds, type SideBySide } from '../lib/rounds.js';
import { DASHBOARD_PAGE, LIST_PAGE, seedDashboardPage } from '../lib/seed.js';
import { schemaHasStatusHistory } from './dashboard.js';

interface Shape {
  /** How the report names it. */
  label: string;
  size: number;
  history: boolean;
}

const SHAPES = {
  dashboard: {
    label: `dashboard page (${DASHBOARD_PAGE} customers + ${HISTORY_FIRST} newest events each)`,
    size: DASHBOARD_PAGE,
    history: true,
  },
  list: { label: `list of ${LIST_PAGE} customers (no events)`, size: LIST_PAGE, history: false },
} satisfies Record<string, Shape>;

/** A GraphQL POST answered with data and no error (both servers answer 200 with errors inside). */
const graphqlLoad = (server: ServerHandle, headers: Record<string, string>, body: string): HttpLoad => ({
  url: `${server.url}/graphql`,
  method: 'POST',
  headers,
  body,
  verifyBody: (b) => b.startsWith('{"data"') && !b.includes('"errors"'),
});

async function ask<T>(server: ServerHandle, headers: Record<string, string>, body: string): Promise<T> {
  const res = await fetch(`${server.url}/graphql`, { method: 'POST', headers, body });
  if (res.status !== 200) throw new Error(`${server.name} answered ${res.status}: ${(await res.text()).slice(0, 500)}`);
  return (await res.json()) as T;
}

/** Checks both answers are identical, then measures both servers in alternating rounds: [gateway, peer]. */
async function compareAndMeasure(ctx: BenchContext, peer: ServerHandle, shape: Shape): Promise<[SideBySide, SideBySide]> {
  const gatewayBody = JSON.stringify({ query: dashboardQuery(shape.history, shape.size) });
  const peerBody = JSON.stringify({ query: peerDashboardQuery(shape.history, shape.size) });
  const mine = fromGateway(await ask<GatewayAnswer>(ctx.gateway, ctx.headers, gatewayBody));
  const theirs = fromPeer(await ask<PeerAnswer>(peer, ctx.headers, peerBody));
  assertSamePage(mine, theirs, shape);
  console.log(`  ${shape.label}: both answers identical field by field`);
  const [gateway, postgraphile] = await alternate([
    { server: ctx.gateway, load: graphqlLoad(ctx.gateway, ctx.headers, gatewayBody) },
    { server: peer, load: graphqlLoad(peer, ctx.headers, peerBody) },
  ]);
  return [gateway!, postgraphile!];
}

const details = (r: SideBySide) =>
  `p50 ${ms(r.p50)}, p99 ${ms(r.p99)}, p99/p50 ${num(r.p99 / r.p50, 1)}, CPU ${num(r.cpuPerRequest)} µs/request, ` +
  `${num(r.statements, 2)} statements/request, rounds ${r.roundRps.map((v) => num(v)).join(' / ')} req/s, errors ${r.errors}`;

export const peerScenario: Scenario = async (ctx) => {
  console.log(
    `\n# 5. ${PEER_NAME} side by side with the gateway: ${SHAPES.dashboard.label} and ${SHAPES.list.label}, ${peerRounds} alternating rounds each`,
  );
  if (!schemaHasStatusHistory()) throw new Error('the peer scenario compares statusHistory, which the schema does not have');
  await seedDashboardPage(ctx);
  const peer = await startPeerProcess(ctx.db.url, poolSize);
  try {
    const measured = [];
    for (const shape of [SHAPES.dashboard, SHAPES.list]) {
      const [gateway, postgraphile] = await compareAndMeasure(ctx, peer, shape);
      measured.push({ shape, gateway, postgraphile });
      record({ scenario: '5 peer', subject: `${PEER_NAME}, ${shape.label}`, figure: rate(postgraphile.rps), note: details(postgraphile) });
      record({
        scenario: '5 peer',
        subject: `gateway, ${shape.label}, same rounds`,
        figure: rate(gateway.rps),
        baseline: `${rate(postgraphile.rps)} (PostGraphile)`,
        ratio: gateway.rps / postgraphile.rps,
        target: '≥ 1.5×',
        met: gateway.rps / postgraphile.rps >= 1.5,
        note: details(gateway),
      });
    }
    const { gateway, postgraphile } = measured[0]!;
    record({
      scenario: '5 peer',
      subject: 'gateway CPU per dashboard request vs PostGraphile',
      figure: `${num(gateway.cpuPerRequest)} µs`,
      baseline: `${num(postgraphile.cpuPerRequest)} µs (PostGraphile)`,
      ratio: gateway.cpuPerRequest / postgraphile.cpuPerRequest,
      target: '≤ 0.7×',
      met: gateway.cpuPerRequest / postgraphile.cpuPerRequest <= 0.7,
      note: 'server process CPU, user + system, over the measured windows',
    });
    record({
      scenario: '5 peer',
      subject: 'gateway dashboard p99/p50',
      figure: num(gateway.p99 / gateway.p50, 2),
      target: '≤ 2',
      met: gateway.p99 / gateway.p50 <= 2,
      note: `p50 ${ms(gateway.p50)}, p99 ${ms(gateway.p99)}; PostGraphile ${num(postgraphile.p99 / postgraphile.p50, 2)}`,
    });
  } finally {
    await peer.stop();
  }
};

// Scenario 3: a dashboard page, customers(first: 50) with nested aml, identity and (once the
// schema has it) statusHistory(first: 3), against the equivalent hand-written SQL through raw
// pg; and the SQL statements the gateway sends per page.
import { readFileSync } from 'node:fs';
import { withStatements, type Scenario } from '../lib/context.js';
import { bracket, connections, httpLoad, loopLoad } from '../lib/load.js';
import { ms, num, rate, record } from '../lib/report.js';
import { dashboardQuery } from '../lib/requests.js';
import { DASHBOARD_PAGE as PAGE, seedDashboardPage } from '../lib/seed.js';

/** Whether the gateway's schema has Customer.statusHistory (it arrives with the events work). */
export function schemaHasStatusHistory(): boolean {
  return readFileSync(new URL('../../schema.graphql', import.meta.url), 'utf8').includes('statusHistory(');
}

const COLUMNS = `id, external_id, type, full_name, email, kyc_status, kyc_started_at, kyc_completed_at, verified_legal_name,
  verified_country, aml_status, aml_screened_at, aml_last_reviewed_at, aml_pep, aml_sanctions, aml_adverse_media,
  aml_terrorism, added_via, created_at, updated_at`;

/** The page by hand: one statement, keyset order, one extra row for hasNextPage. */
const PAGE_SQL = `SELECT ${COLUMNS} FROM customers WHERE org_id = $1 ORDER BY created_at, id LIMIT ${PAGE + 1}`;
/**
 * With the three latest events of each customer, aggregated in the same statement. The page is
 * cut first (LIMIT in the inner query), so the lateral join runs for its rows only.
 */
const PAGE_WITH_HISTORY_SQL = `
  SELECT c.*, h.history
  FROM (SELECT ${COLUMNS}, org_id FROM customers WHERE org_id = $1 ORDER BY created_at, id LIMIT ${PAGE + 1}) c
  LEFT JOIN LATERAL (
    SELECT json_agg(json_build_object('id', e.id, 'kind', e.kind, 'kyc_from', e.kyc_from, 'kyc_to', e.kyc_to,
                                      'aml_from', e.aml_from, 'aml_to', e.aml_to, 'occurred_at', e.occurred_at) ORDER BY e.id DESC) AS history
    FROM (SELECT * FROM customer_events e WHERE e.org_id = c.org_id AND e.customer_id = c.id ORDER BY e.id DESC LIMIT 3) e
  ) h ON true
  ORDER BY c.created_at, c.id`;

export const dashboardScenario: Scenario = async (ctx) => {
  const history = schemaHasStatusHistory();
  console.log(
    `\n# 3. dashboard page: customers(first: ${PAGE}) with aml, identity${history ? ', statusHistory(first: 3)' : ' (statusHistory not in the schema yet)'}`,
  );
  await seedDashboardPage(ctx);
  const sql = history ? PAGE_WITH_HISTORY_SQL : PAGE_SQL;
  const measureRaw = () =>
    loopLoad(connections, async () => {
      const { rows } = await ctx.pool.query(sql, [ctx.db.orgId]);
      if (rows.length < PAGE) throw new Error(`raw page has ${rows.length} rows`);
    });
  const rawBefore = await measureRaw();

  const body = JSON.stringify({ query: dashboardQuery(history) });
  const check = await fetch(`${ctx.gateway.url}/graphql`, { method: 'POST', headers: ctx.headers, body });
  const checked = (await check.json()) as { data?: { customers: { edges: unknown[] } }; errors?: unknown };
  if (!checked.data || checked.data.customers.edges.length !== PAGE)
    throw new Error(`dashboard query failed: ${JSON.stringify(checked).slice(0, 500)}`);
  const gql = await withStatements(ctx, (onMeasureStart) =>
    httpLoad(
      { url: `${ctx.gateway.url}/graphql`, method: 'POST', headers: ctx.headers, body, verifyBody: (b) => !b.includes('"errors"') },
      onMeasureStart,
    ),
  );
  const raw = bracket(rawBefore, await measureRaw());
  record({
    scenario: '3 dashboard',
    subject: `raw pg, 1 statement${history ? ' (LATERAL history)' : ''}`,
    figure: rate(raw.rps),
    note: `mean of before and after the gateway, p50 ${ms(raw.p50)}, p99 ${ms(raw.p99)}`,
  });
  record({
    scenario: '3 dashboard',
    subject: `GraphQL page${history ? ' with statusHistory' : ''}`,
    figure: rate(gql.rps),
    baseline: rate(raw.rps),
    ratio: gql.rps / raw.rps,
    // The physical reference only: issue 6's "≥ 0.5× raw pg" gave way to issue 12's targets,
    // which are against PostGraphile on the same page (scenario 5, bench/scenarios/peer.ts).
    note: `p50 ${ms(gql.p50)}, p99 ${ms(gql.p99)}, p99/p50 ${num(gql.p99 / gql.p50, 1)}, errors ${gql.errors}; reference, the targets are scenario 5's`,
  });
  record({
    scenario: '3 dashboard',
    subject: 'SQL statements per page',
    figure: num(gql.statements, 2),
    target: '≤ 3',
    met: gql.statements <= 3,
  });
};

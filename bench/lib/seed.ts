// The data the read scenarios measure (3 dashboard, 5 PostGraphile peer): one seeding for both,
// done once per run.
import type { BenchContext } from './context.js';
import { upsertBody } from './requests.js';

/** Customers on the dashboard page (customers(first: 50) with their three newest events). */
export const DASHBOARD_PAGE = 50;
/** Customers on the plain list page (no events), the largest page the gateway serves. */
export const LIST_PAGE = 100;

let seeded: Promise<void> | undefined;

/**
 * Makes the oldest pages of the organisation look like real ones: at least LIST_PAGE + 10
 * customers (so both pages have a next page), a third of the dashboard page VERIFIED with an
 * identity and screened, and four KYC status events for each customer of that page. Runs once
 * per run (the database is the run's own); later callers wait for the first.
 */
export function seedDashboardPage(ctx: BenchContext): Promise<void> {
  seeded ??= seed(ctx).catch((error: unknown) => {
    seeded = undefined;
    throw error;
  });
  return seeded;
}

async function seed(ctx: BenchContext): Promise<void> {
  const { rows } = await ctx.pool.query<{ n: string }>('SELECT count(*) AS n FROM customers WHERE org_id = $1', [ctx.db.orgId]);
  for (let i = Number(rows[0]!.n); i < LIST_PAGE + 10; i++) {
    const res = await fetch(`${ctx.gateway.url}/api/v1/customers`, {
      method: 'POST',
      headers: ctx.headers,
      body: JSON.stringify(upsertBody(`dash-${i}`)),
    });
    if (res.status !== 201) throw new Error(`dashboard seed: ${res.status} ${await res.text()}`);
  }
  await ctx.pool.query(
    `WITH page AS (SELECT id, row_number() OVER (ORDER BY created_at, id) AS n FROM customers WHERE org_id = $1 ORDER BY created_at, id LIMIT ${DASHBOARD_PAGE})
     UPDATE customers c SET kyc_status = 'VERIFIED', kyc_started_at = now(), kyc_completed_at = now(),
       verified_legal_name = c.full_name, verified_country = 'AUS', aml_status = 'CLEAR', aml_screened_at = now()
     FROM page WHERE c.id = page.id AND page.n % 3 = 0`,
    [ctx.db.orgId],
  );
  await ctx.pool.query(
    `INSERT INTO customer_events (org_id, customer_id, kind, kyc_from, kyc_to, snapshot, actor_kind)
     SELECT c.org_id, c.id, 'KYC', s.f::"KycStatus", s.t::"KycStatus", '{}'::jsonb, 'SYSTEM'
     FROM (SELECT * FROM customers WHERE org_id = $1 ORDER BY created_at, id LIMIT ${DASHBOARD_PAGE}) c
     CROSS JOIN (VALUES ('NOT_STARTED', 'PENDING'), ('PENDING', 'IN_PROGRESS'), ('IN_PROGRESS', 'VERIFIED'), ('VERIFIED', 'VERIFIED')) AS s(f, t)`,
    [ctx.db.orgId],
  );
  // The upsert scenario may just have added thousands of rows: plans on stale statistics
  // (autovacuum has not analysed yet) would measure the planner, not the servers.
  await ctx.pool.query('ANALYZE customers, customer_events');
}

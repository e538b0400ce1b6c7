// Reading EXPLAIN (ANALYZE, FORMAT JSON) plans: how much of a table a statement really read.
// Tests of statements whose cost must not grow with a table hold this figure against the rows
// they need, whatever the planner's statistics say.
import type { Prisma, PrismaClient } from '../../src/generated/prisma/client.js';

/** Rows the scans of `relation` in an EXPLAIN (ANALYZE, FORMAT JSON) plan read: returned or filtered out. */
export function rowsRead(plan: unknown, relation: string): number {
  let rows = 0;
  const visit = (node: Record<string, unknown>) => {
    if (node['Relation Name'] === relation) {
      const loops = Number(node['Actual Loops'] ?? 1);
      rows +=
        (Number(node['Actual Rows'] ?? 0) +
          Number(node['Rows Removed by Filter'] ?? 0) +
          Number(node['Rows Removed by Index Recheck'] ?? 0)) *
        loops;
    }
    for (const child of (node['Plans'] as Record<string, unknown>[] | undefined) ?? []) visit(child);
  };
  for (const top of plan as { Plan: Record<string, unknown> }[]) visit(top.Plan);
  return rows;
}

/** A value of a statement as an SQL literal (EXECUTE takes expressions, not bound parameters). */
function literal(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  if (v instanceof Date) return `'${v.toISOString()}'`;
  if (typeof v === 'string') return `'${v.replaceAll("'", "''")}'`;
  // An untyped array literal, which takes the type the statement gives its parameter.
  if (Array.isArray(v)) return literal(`{${v.map((x) => JSON.stringify(String(x))).join(',')}}`);
  throw new Error(`no literal for ${typeof v}`);
}

class RolledBack extends Error {}

export type PlanCacheMode = 'force_generic_plan' | 'force_custom_plan';

/**
 * EXPLAIN (ANALYZE, FORMAT JSON) of `statement` in a transaction that is rolled back, so that
 * nothing it writes stays. With `prepared`, as a prepared statement under that plan cache mode
 * (its values as literals); else with its values bound, as Prisma sends it (planned with them).
 */
export async function explainRolledBack(prisma: PrismaClient, statement: Prisma.Sql, prepared?: PlanCacheMode): Promise<unknown> {
  let plan: unknown;
  await prisma
    .$transaction(async (tx) => {
      let rows: { 'QUERY PLAN': unknown }[];
      if (prepared) {
        await tx.$executeRawUnsafe(`SET LOCAL plan_cache_mode = ${prepared}`);
        await tx.$executeRawUnsafe(`PREPARE explained AS ${statement.text}`);
        rows = await tx.$queryRawUnsafe(`EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE explained(${statement.values.map(literal).join(', ')})`);
        await tx.$executeRawUnsafe('DEALLOCATE explained');
      } else {
        rows = await tx.$queryRawUnsafe(`EXPLAIN (ANALYZE, FORMAT JSON) ${statement.text}`, ...statement.values);
      }
      plan = rows[0]!['QUERY PLAN'];
      throw new RolledBack();
    })
    .catch((error: unknown) => {
      if (!(error instanceof RolledBack)) throw error;
    });
  return plan;
}

/** A plan as one line per node (type, relation, index, estimated and actual rows, condition), for failure messages. */
export function planOutline(plan: unknown): string {
  const lines: string[] = [];
  const text = (v: unknown) => (typeof v === 'string' || typeof v === 'number' ? String(v) : '');
  const visit = (node: Record<string, unknown>, depth: number) => {
    const what = [node['Node Type'], node['Relation Name'], node['Index Name']].map(text).filter(Boolean).join(' ');
    const cond = text(node['Index Cond'] ?? node['Recheck Cond'] ?? node['Filter']);
    lines.push(`${'  '.repeat(depth)}${what} (est ${text(node['Plan Rows'])}, actual ${text(node['Actual Rows'])}) ${cond}`.trimEnd());
    for (const child of (node['Plans'] as Record<string, unknown>[] | undefined) ?? []) visit(child, depth + 1);
  };
  for (const top of plan as { Plan: Record<string, unknown> }[]) visit(top.Plan, 0);
  return lines.join('\n');
}

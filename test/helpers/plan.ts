// Reading EXPLAIN (ANALYZE, FORMAT JSON) plans: how much of a table a statement really read.
// Tests of statements whose cost must not grow with a table hold this figure against the rows
// they need, whatever the planner's statistics say.

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

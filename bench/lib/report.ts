// The figures a scenario prints, collected for the summary table at the end of a run.

export interface Row {
  scenario: string;
  subject: string;
  figure: string;
  baseline?: string;
  ratio?: number;
  target?: string;
  met?: boolean;
  note?: string;
}

export const rows: Row[] = [];

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
export const rate = (rps: number) => `${fmt(rps)} req/s`;
export const ms = (v: number) => `${fmt(v, v < 10 ? 1 : 0)} ms`;
export const num = fmt;

/** Prints one figure as it is measured and keeps it for the summary. */
export function record(row: Row): void {
  rows.push(row);
  const parts = [`  ${row.subject}: ${row.figure}`];
  if (row.baseline) parts.push(`baseline ${row.baseline}`);
  if (row.ratio !== undefined) parts.push(`ratio ${row.ratio.toFixed(2)}×`);
  if (row.target) parts.push(`target ${row.target} ${row.met ? 'MET' : 'MISSED'}`);
  if (row.note) parts.push(row.note);
  console.log(parts.join(' | '));
}

/** The summary as a Markdown table (pasted into bench/README.md). */
export function summary(): string {
  const lines = ['| scenario | measured | figure | baseline (same run) | ratio | target | met |', '|---|---|---|---|---|---|---|'];
  for (const r of rows) {
    lines.push(
      `| ${r.scenario} | ${r.subject}${r.note ? ` (${r.note})` : ''} | ${r.figure} | ${r.baseline ?? ''} | ${r.ratio !== undefined ? `${r.ratio.toFixed(2)}×` : ''} | ${r.target ?? ''} | ${r.target ? (r.met ? 'yes' : '**no**') : ''} |`,
    );
  }
  return lines.join('\n');
}

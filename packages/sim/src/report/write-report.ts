import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderSvgChart } from './svg-chart.js';
import type { ExperimentReport, Table } from './types.js';

function cell(v: string | number): string {
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toFixed(Math.abs(v) < 10 ? 3 : 1);
  return v;
}

function table(t: Table): string {
  const lines = [`**${t.title}**`, '', `| ${t.columns.join(' | ')} |`, `|${t.columns.map(() => '---').join('|')}|`];
  for (const r of t.rows) lines.push(`| ${r.map(cell).join(' | ')} |`);
  return lines.join('\n');
}

/** Renders an experiment report as markdown (charts referenced as `<id>.svg` next to it). */
export function renderMarkdown(r: ExperimentReport): string {
  const parts = [
    `# ${r.id.toUpperCase()} — ${r.title}`,
    '',
    `**Question.** ${r.question}`,
    '',
    `Seed ${r.seed}${r.quick ? ' (quick mode: shorter runs, fewer points)' : ''}.`,
    '',
    '## Setup',
    ...r.setup.map((s) => `- ${s}`),
    '',
    '## Results',
    ...r.tables.flatMap((t) => [table(t), '']),
    ...r.charts.flatMap((c) => [`![${c.title}](${c.id}.svg)`, '']),
    '## Reading the results',
    ...r.notes.map((n) => `- ${n}`),
    '',
    '## Figures (JSON)',
    '```json',
    JSON.stringify(r.figures, null, 2),
    '```',
    '',
  ];
  return parts.join('\n');
}

/** Writes `report.md`, `report.json` and one SVG per chart into `outDir`; returns the written paths. */
export function writeReport(r: ExperimentReport, outDir: string): string[] {
  mkdirSync(outDir, { recursive: true });
  const written: string[] = [];
  const put = (name: string, text: string): void => {
    const p = join(outDir, name);
    writeFileSync(p, text);
    written.push(p);
  };
  put('report.md', renderMarkdown(r));
  // Wall time varies run to run; the JSON keeps only what the seed determines.
  const { wallMs: _wall, ...deterministic } = r;
  put('report.json', `${JSON.stringify(deterministic, null, 2)}\n`);
  for (const c of r.charts) put(`${c.id}.svg`, renderSvgChart(c));
  return written;
}

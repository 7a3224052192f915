import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SystemName } from './cluster/client-process.js';
import type { TrialPair } from './summary.js';
import type { TallySeries } from './tally.js';

const COLORS: Record<SystemName, string> = { epara: '#1f77b4', triton: '#d62728' };

/** The runs of the trials in the order they ran, each with its per-second series. */
function timeline(pairs: readonly TrialPair[]): { system: SystemName; trial: number; series: TallySeries }[] {
  return pairs.flatMap((p) => p.order.map((s) => ({ system: s, trial: p.trial, series: p[s].series })));
}

/**
 * An SVG chart of goodput/s (top) and SLO attainment (bottom) per second for every run, laid out in the order
 * the runs happened (EPARA blue, the baseline red), so a reader sees both the level and its stability.
 */
export function chartSvg(pairs: readonly TrialPair[], durationSec: number): string {
  const runs = timeline(pairs);
  const W = 960;
  const H = 460;
  const left = 60;
  const right = 20;
  const panel = 170;
  const top1 = 40;
  const top2 = top1 + panel + 60;
  const secs = runs.length * (durationSec + 1);
  const xs = (t: number): number => left + ((W - left - right) * t) / Math.max(1, secs);
  const maxG = Math.max(1, ...runs.flatMap((r) => r.series.good.slice(0, durationSec)));
  const out: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`, `<rect width="${W}" height="${H}" fill="white"/>`];
  out.push(`<text x="${left}" y="20" font-size="13">Goodput (items/s within SLO) and SLO attainment per second, runs in the order they ran</text>`);
  for (const [top, label, max] of [[top1, 'goodput/s', maxG], [top2, 'attainment', 1]] as const) {
    out.push(`<rect x="${left}" y="${top}" width="${W - left - right}" height="${panel}" fill="none" stroke="#999"/>`);
    out.push(`<text x="8" y="${top + panel / 2}">${label}</text>`, `<text x="${left - 4}" y="${top + 10}" text-anchor="end">${label === 'attainment' ? '100%' : max.toFixed(0)}</text>`, `<text x="${left - 4}" y="${top + panel}" text-anchor="end">0</text>`);
    if (label === 'attainment') {
      const y90 = top + panel * 0.1;
      out.push(`<line x1="${left}" x2="${W - right}" y1="${y90}" y2="${y90}" stroke="#bbb" stroke-dasharray="4 3"/><text x="${W - right - 2}" y="${y90 - 3}" text-anchor="end" fill="#888">90%</text>`);
    }
  }
  runs.forEach((r, k) => {
    const t0 = k * (durationSec + 1);
    const n = Math.min(durationSec, r.series.offered.length);
    const g: string[] = [];
    const a: string[] = [];
    for (let s = 0; s < n; s++) {
      const good = r.series.good[s] ?? 0;
      const offered = r.series.offered[s] ?? 0;
      g.push(`${xs(t0 + s + 0.5).toFixed(1)},${(top1 + panel * (1 - good / maxG)).toFixed(1)}`);
      if (offered > 0) a.push(`${xs(t0 + s + 0.5).toFixed(1)},${(top2 + panel * (1 - Math.min(1, good / offered))).toFixed(1)}`);
    }
    out.push(`<polyline fill="none" stroke="${COLORS[r.system]}" stroke-width="1.5" points="${g.join(' ')}"/>`);
    out.push(`<polyline fill="none" stroke="${COLORS[r.system]}" stroke-width="1.5" points="${a.join(' ')}"/>`);
    out.push(`<text x="${xs(t0 + durationSec / 2)}" y="${top2 + panel + 14}" text-anchor="middle" fill="${COLORS[r.system]}">${r.system === 'epara' ? 'EPARA' : 'Triton'} t${r.trial + 1}</text>`);
    if (k > 0) out.push(`<line x1="${xs(t0 - 0.5)}" x2="${xs(t0 - 0.5)}" y1="${top1}" y2="${top2 + panel}" stroke="#eee"/>`);
  });
  out.push(`<text x="${W - right - 300}" y="${top2 - 30}" fill="${COLORS.epara}">— EPARA</text><text x="${W - right - 230}" y="${top2 - 30}" fill="${COLORS.triton}">— Triton-like (per site + load balancer)</text>`);
  out.push('</svg>');
  return out.join('\n');
}

/** Writes `report.md` and `chart.svg` into a new folder under `dir`; returns the folder. */
export function writeReportFolder(o: { dir: string; markdown: string; svg: string }): string {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const folder = join(o.dir, `run-${stamp}`);
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, 'report.md'), o.markdown);
  writeFileSync(join(folder, 'chart.svg'), o.svg);
  return folder;
}

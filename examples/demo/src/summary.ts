import type { SystemName } from './cluster/client-process.js';
import { table } from './format.js';
import type { SystemReport } from './report.js';
import type { SystemRun } from './trials.js';

/** One trial: both systems on the same seeded workload, in the order they ran. */
export interface TrialPair {
  readonly trial: number;
  readonly seed: number;
  readonly order: readonly SystemName[];
  readonly epara: SystemRun;
  readonly triton: SystemRun;
}

/** Median and range of a ratio over the trials. */
export interface RatioSpread {
  readonly median: number | null;
  readonly min: number | null;
  readonly max: number | null;
  readonly values: readonly (number | null)[];
}

/** Goodput/s and attainment of a group of services in a report. */
function groupOf(r: SystemReport, key: string): { goodputPerSec: number; attainment: number } | undefined {
  if (key === 'overall') return r.overall;
  if (key === 'latency' || key === 'frequency') {
    // A service's category key starts with its sensitivity (`latency/single`).
    const services = r.services.filter((s) => s.category.startsWith(`${key}/`));
    const offered = services.reduce((a, s) => a + s.offered, 0);
    const good = services.reduce((a, s) => a + s.good, 0);
    return { goodputPerSec: services.reduce((a, s) => a + s.goodputPerSec, 0), attainment: offered === 0 ? 1 : good / offered };
  }
  return r.categories[key];
}

export function median(xs: readonly number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function spread(values: (number | null)[]): RatioSpread {
  const finite = values.filter((v): v is number => v !== null && Number.isFinite(v));
  return { median: median(finite), min: finite.length ? Math.min(...finite) : null, max: finite.length ? Math.max(...finite) : null, values };
}

/** The groups compared: the sensitivity classes, EPARA's categories, and everything. */
export function groupKeys(pairs: readonly TrialPair[]): string[] {
  const cats = new Set<string>();
  for (const p of pairs) for (const k of Object.keys(p.epara.report.categories)) cats.add(k);
  return ['latency', 'frequency', ...[...cats].sort(), 'overall'];
}

/** EPARA ÷ baseline goodput per group: median and range over the trials. */
export function goodputRatios(pairs: readonly TrialPair[]): Record<string, RatioSpread> {
  const out: Record<string, RatioSpread> = {};
  for (const k of groupKeys(pairs)) {
    out[k] = spread(pairs.map((p) => {
      const a = groupOf(p.epara.report, k);
      const b = groupOf(p.triton.report, k);
      // No ratio when the baseline achieved nothing (both at zero says nothing either way).
      return a && b && b.goodputPerSec > 0 ? a.goodputPerSec / b.goodputPerSec : null;
    }));
  }
  return out;
}

const x = (v: number | null): string => (v === null ? '-' : `${v.toFixed(2)}x`);
const pct = (v: number | null): string => (v === null ? '-' : `${(100 * v).toFixed(1)}%`);

/** The final table: per group, both systems' median goodput and attainment, and the ratio's median and range. */
export function finalTable(pairs: readonly TrialPair[]): string[] {
  const ratios = goodputRatios(pairs);
  const rows = groupKeys(pairs).map((k) => {
    const med = (s: 'epara' | 'triton', f: 'goodputPerSec' | 'attainment'): number | null => median(pairs.map((p) => groupOf(p[s].report, k)?.[f]).filter((v): v is number => v !== undefined));
    const r = ratios[k]!;
    return [k, med('epara', 'goodputPerSec')?.toFixed(1) ?? '-', med('triton', 'goodputPerSec')?.toFixed(1) ?? '-', x(r.median), `${x(r.min)}–${x(r.max)}`, pct(med('epara', 'attainment')), pct(med('triton', 'attainment'))];
  });
  return table([['group', 'EPARA goodput/s', 'Triton-like goodput/s', 'ratio (median)', 'range', 'EPARA att.', 'Triton-like att.'], ...rows]);
}

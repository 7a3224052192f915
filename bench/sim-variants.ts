/**
 * `tsx bench/sim-variants.ts [mixed|latency|frequency ...] [--seed N] --variant name:option=value,option=value ...`
 * (after `pnpm build`): the bench's quick E1 sweeps (20 s runs) with the deployed EPARA and every system, then
 * EPARA alone at the same load points for each variant of its placement options (e.g. `--variant
 * swap:serverSwap=true --variant perItemSwap:valueWeighting=per-item,serverSwap=true`), against the same
 * baselines: per point EPARA's items/s in time and the change against the deployed options, and the sweep's
 * figures (max and median of EPARA ÷ best deployable, worst service, EPARA ÷ upper bound at the last point). The
 * simulator is deterministic in simulated time, so a variant's figures equal what `bench/sim-sweeps.ts --set
 * placementOptions.…` reports, at a fraction of its runs. Last line: one JSON object.
 */
import { loadavg } from 'node:os';
import { edgeScenario, minServiceAttainment, runContender, UPPER_BOUND } from '../packages/sim/dist/analysis.js';
import { runLoadSweep, type MixKind } from '../packages/sim/dist/index.js';
import { parsePlacementVariant, type PlacementVariant } from './lib/placement-variant.js';

const args = process.argv.slice(2);
const seedAt = args.indexOf('--seed');
const seed = seedAt >= 0 ? Number(args[seedAt + 1]) : 1;
const variants: PlacementVariant[] = [];
const kinds: MixKind[] = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i]!;
  if (a === '--seed') i++;
  else if (a === '--variant') variants.push(parsePlacementVariant(args[++i]!));
  else kinds.push(a as MixKind);
}

const r4 = (x: number): number => Math.round(x * 10_000) / 10_000;
const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const out: Record<string, unknown> = { seed };
for (const kind of kinds.length ? kinds : (['mixed', 'latency', 'frequency'] as MixKind[])) {
  const id = `bench-${kind}`;
  const report = runLoadSweep({ seed, quick: true }, kind, id);
  // Per point: the best deployable baseline's and the upper bound's items/s, and the deployed EPARA's.
  const points = new Map<number, { best: number; upper: number; epara: number; bestAttainment: number; eparaMin: number }>();
  for (const row of report.tables[1]!.rows) {
    const [scale, , label, goodput, attainment] = row as [number, number, string, number, number];
    const p = points.get(scale) ?? { best: 0, upper: 0, epara: 0, bestAttainment: 0, eparaMin: 0 };
    if (label === 'EPARA') p.epara = goodput;
    else if (label === UPPER_BOUND) p.upper = goodput;
    else if (goodput > p.best) (p.best = goodput), (p.bestAttainment = attainment);
    points.set(scale, p);
  }
  const ratioRows = report.tables[0]!.rows;
  // The deployed EPARA ÷ each system per point, as the sweep's first table has it.
  console.log(kind, 'per point', JSON.stringify({ columns: report.tables[0]!.columns, rows: ratioRows }));
  for (const row of ratioRows) points.get(row[0] as number)!.eparaMin = row[row.length - 2] as number;
  const figures = (goodput: Map<number, number>, worst: Map<number, number>): Record<string, unknown> => {
    const scales = [...points.keys()];
    const ratios = scales.map((s) => goodput.get(s)! / points.get(s)!.best);
    const last = scales[scales.length - 1]!;
    const at90 = [...scales].reverse().find((s) => points.get(s)!.bestAttainment >= 0.9);
    return {
      max: r4(Math.max(...ratios)),
      median: r4(median(ratios)),
      ratios: scales.map((s, i) => `x${s} ${ratios[i]!.toFixed(3)}`).join(', '),
      worstService: at90 === undefined ? null : r4(worst.get(at90)!),
      vsUpperBound: r4(goodput.get(last)! / points.get(last)!.upper),
      goodput: scales.map((s) => `x${s} ${goodput.get(s)!.toFixed(1)}`).join(', '),
    };
  };
  const deployed = new Map([...points].map(([s, p]) => [s, p.epara]));
  out[`${kind}:deployed`] = figures(deployed, new Map([...points].map(([s, p]) => [s, p.eparaMin])));
  console.log(kind, 'deployed', JSON.stringify(out[`${kind}:deployed`]));
  for (const v of variants) {
    const goodput = new Map<number, number>();
    const worst = new Map<number, number>();
    for (const scale of points.keys()) {
      const base = edgeScenario(`${id}-${kind}-x${scale}`, { seed, quick: true }, scale, 20_000, kind);
      const r = runContender(base, { label: 'EPARA', spec: { kind: 'epara', ...v.systemOptions, placementOptions: v.placementOptions } });
      goodput.set(scale, r.result.total.goodputPerSec);
      worst.set(scale, minServiceAttainment(r.result));
    }
    const f = figures(goodput, worst);
    const perPoint = [...points.keys()]
      .map((s) => ({ s, d: goodput.get(s)! / deployed.get(s)! - 1 }))
      // The sweep's table rounds to 0.001 items/s: smaller differences are that rounding.
      .filter((x) => Math.abs(x.d) > 1e-5)
      .map((x) => `x${x.s} ${x.d > 0 ? '+' : ''}${(100 * x.d).toFixed(2)} %`)
      .join(', ');
    out[`${kind}:${v.name}`] = { ...f, perPoint: perPoint || 'identical' };
    console.log(kind, v.name, JSON.stringify(out[`${kind}:${v.name}`]));
  }
}
console.log(JSON.stringify({ ...out, loadAvg: loadavg().map((x) => Math.round(x * 10) / 10) }));

/**
 * `tsx bench/sim-epara-ab.ts [mixed|latency|frequency ...] --seeds 1-5 [--scales 1,2,3] [--cache FILE] --variant
 * name:option=value,…` (after `pnpm build`): EPARA alone, the deployed options against each variant, at the bench's
 * quick E1 points (20 s runs; every quick scale ×1–×16, also those past a seed's collapse, which the sweep stops
 * after), seed by seed. A change is kept only when no point loses more than 0.5 % and the sum gains: the last lines
 * say both per variant. No baseline runs (their figures do not depend on EPARA's options); `--cache` keeps the
 * deployed runs' goodput (keyed by seed, kind and scale) so a second variant does not rerun them — delete it after
 * changing the deployed behaviour. Variants as `bench/sim-variants.ts` (`epara.`-prefixed names set EPARA options).
 * `--against DIR` (another build's `packages/sim/dist`, copied where it still resolves `@epara/core`, e.g. under
 * `packages/sim/node_modules/`) compares that build's deployed EPARA with this build's, as a variant named `build`.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { edgeScenario, runContender } from '../packages/sim/dist/analysis.js';
import type { MixKind } from '../packages/sim/dist/index.js';
import { parsePlacementVariant, type PlacementVariant } from './lib/placement-variant.js';

const args = process.argv.slice(2);
const variants: PlacementVariant[] = [];
const kinds: MixKind[] = [];
let seeds = [1];
let scales = [1, 2, 3, 4, 6, 8, 10, 12, 16];
let cachePath: string | null = null;
let against: string | null = null;
const range = (s: string): number[] => s.split(',').flatMap((p) => {
  const [a, b] = p.split('-').map(Number);
  return b === undefined ? [a!] : Array.from({ length: b - a! + 1 }, (_, i) => a! + i);
});
for (let i = 0; i < args.length; i++) {
  const a = args[i]!;
  if (a === '--seeds') seeds = range(args[++i]!);
  else if (a === '--scales') scales = range(args[++i]!);
  else if (a === '--cache') cachePath = args[++i]!;
  else if (a === '--against') against = args[++i]!;
  else if (a === '--variant') variants.push(parsePlacementVariant(args[++i]!));
  else kinds.push(a as MixKind);
}

type Analysis = { edgeScenario: typeof edgeScenario; runContender: typeof runContender };
const other: Analysis | null = against === null ? null : ((await import(pathToFileURL(resolve(against, 'analysis.js')).href)) as Analysis);
if (other !== null) variants.push({ name: 'build', placementOptions: {}, systemOptions: {} });
const cache: Record<string, number> = cachePath !== null && existsSync(cachePath) ? JSON.parse(readFileSync(cachePath, 'utf8')) : {};
const goodputOf = (seed: number, kind: MixKind, scale: number, v: PlacementVariant | null): number => {
  const key = `${seed}/${kind}/${scale}`;
  if (v === null && cache[key] !== undefined) return cache[key]!;
  // With `--against`, the deployed side runs on the other build and the variant `build` is this build's deployed EPARA.
  const lib: Analysis = v === null && other !== null ? other : { edgeScenario, runContender };
  const base = lib.edgeScenario(`bench-${kind}-${kind}-x${scale}`, { seed, quick: true }, scale, 20_000, kind);
  const spec = v === null || v.name === 'build' ? { kind: 'epara' as const } : { kind: 'epara' as const, ...v.systemOptions, placementOptions: v.placementOptions };
  const g = lib.runContender(base, { label: 'EPARA', spec }).result.total.goodputPerSec;
  if (v === null) {
    cache[key] = g;
    if (cachePath !== null) writeFileSync(cachePath, JSON.stringify(cache));
  }
  return g;
};

const summary: Record<string, unknown> = {};
for (const v of variants) {
  let deployedSum = 0;
  let variantSum = 0;
  let worst = { point: '', change: Infinity };
  const losses: string[] = [];
  for (const seed of seeds) {
    for (const kind of kinds.length ? kinds : (['mixed', 'latency'] as MixKind[])) {
      const row: string[] = [];
      for (const scale of scales) {
        const d = goodputOf(seed, kind, scale, null);
        const g = goodputOf(seed, kind, scale, v);
        deployedSum += d;
        variantSum += g;
        const change = g / d - 1;
        const point = `seed ${seed} ${kind} x${scale}`;
        if (change < worst.change) worst = { point, change };
        if (change < -0.005) losses.push(`${point} ${(100 * change).toFixed(2)} %`);
        row.push(`x${scale} ${d.toFixed(1)}→${g.toFixed(1)} (${change >= 0 ? '+' : ''}${(100 * change).toFixed(3)} %)`);
      }
      console.log(v.name, `seed ${seed}`, kind, row.join(', '));
    }
  }
  const sumChange = variantSum / deployedSum - 1;
  summary[v.name] = { sumChangePct: Math.round(1e4 * sumChange) / 100, worst: `${worst.point} ${(100 * worst.change).toFixed(2)} %`, lossesOverHalfPct: losses, kept: losses.length === 0 && sumChange > 0 };
  console.log(v.name, JSON.stringify(summary[v.name]));
}
console.log(JSON.stringify({ seeds, scales, kinds: kinds.length ? kinds : ['mixed', 'latency'], summary }));

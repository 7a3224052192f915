/**
 * `tsx bench/sim-epara-losses.ts [mixed|latency|frequency ...] [--scales 4,8] [--seed N] [--variant name:option=value,…]`
 * (after `pnpm build`): EPARA alone at the quick E1 sweep's points, every offered item in one class per service
 * (`lossBreakdown`: good; infeasible for every system — uplink, on arrival; of the feasible rest refused, no
 * instance, expired, late, failed, unfinished), the refusals split by reason (`OVERLOADED`: no instance with room by
 * the estimate; `DEADLINE_INFEASIBLE`: none could finish in time by the estimate) and the loads memory refused.
 * Cheaper than `bench/sim-losses.ts`, which also runs every baseline (the EPARA figures are the same). Last line:
 * one JSON object.
 */
import { edgeScenario, lossBreakdown } from '../packages/sim/dist/analysis.js';
import type { MixKind } from '../packages/sim/dist/index.js';
import { parsePlacementVariant, type PlacementVariant } from './lib/placement-variant.js';

const SCALES: Record<string, readonly number[]> = { mixed: [1, 2, 3, 4, 6, 8, 10, 12], latency: [1, 2, 3, 4, 6, 8, 10], frequency: [1, 2, 3, 4, 6, 8, 10, 12, 16] };
const args = process.argv.slice(2);
let seed = 1;
let scales: number[] | null = null;
let variant: PlacementVariant = { name: 'deployed', placementOptions: {}, systemOptions: {} };
const kinds: MixKind[] = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i]!;
  if (a === '--seed') seed = Number(args[++i]);
  else if (a === '--scales') scales = args[++i]!.split(',').map(Number);
  else if (a === '--variant') variant = parsePlacementVariant(args[++i]!);
  else kinds.push(a as MixKind);
}
const rows: unknown[] = [];
for (const kind of kinds.length ? kinds : (['mixed', 'latency', 'frequency'] as MixKind[])) {
  for (const scale of scales ?? SCALES[kind]!) {
    const base = edgeScenario(`e1-${kind}-x${scale}`, { seed, quick: true }, scale, 20_000, kind);
    const b = lossBreakdown({ ...base, system: { kind: 'epara', ...variant.systemOptions, placementOptions: variant.placementOptions } });
    const perService = Object.fromEntries(
      Object.entries(b.perService).map(([id, t]) => {
        const feasible = t.good + t.refused + t.noInstance + t.expired + t.late + t.failed + t.unfinished;
        return [id, { ...t, feasible, refusedBy: b.perServiceRefusals[id] ?? {} }];
      }),
    );
    const row = { kind, scale, seed, variant: variant.name, goodputPerSec: Math.round(b.result.total.goodputPerSec * 10) / 10, total: b.total, refusedBy: b.refusals, loadFailures: b.result.world.loadFailures, instanceModes: b.result.instanceModes, perService };
    rows.push(row);
    console.log(JSON.stringify(row));
  }
}
console.log(JSON.stringify({ seed, variant: variant.name, rows: rows.length }));

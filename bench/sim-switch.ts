/**
 * `tsx bench/sim-switch.ts [mixed|latency|frequency ...] [--seed N] [--scales 8,10] --variant name:option=value,… …`
 * (after `pnpm build`): EPARA alone at the quick E1 sweep's load points (20 s runs; every quick scale unless
 * `--scales` names some), with the deployed placement options and with each variant of them, and per point the
 * items/s in time of every service, so a variant's gain or loss can be traced to the services (and, with the
 * `shortage` option, to the valuation each placement kept: `shortages`). Cheaper than `bench/sim-variants.ts`,
 * which also runs every baseline; the EPARA figures are the same (the simulator is deterministic in simulated
 * time). Last line: one JSON object.
 */
import { edgeScenario, runContender } from '../packages/sim/dist/analysis.js';
import type { MixKind } from '../packages/sim/dist/index.js';
import { parsePlacementVariant, type PlacementVariant } from './lib/placement-variant.js';

const QUICK_SCALES = [1, 2, 3, 4, 6, 8, 10, 12, 16];
const args = process.argv.slice(2);
let seed = 1;
let scales = QUICK_SCALES;
const variants: PlacementVariant[] = [{ name: 'deployed', placementOptions: {}, systemOptions: {} }];
const kinds: MixKind[] = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i]!;
  if (a === '--seed') seed = Number(args[++i]);
  else if (a === '--scales') scales = args[++i]!.split(',').map(Number);
  else if (a === '--variant') variants.push(parsePlacementVariant(args[++i]!));
  else kinds.push(a as MixKind);
}

const out: Record<string, unknown>[] = [];
for (const kind of kinds.length ? kinds : (['mixed', 'latency', 'frequency'] as MixKind[])) {
  for (const scale of scales) {
    const base = edgeScenario(`bench-${kind}-${kind}-x${scale}`, { seed, quick: true }, scale, 20_000, kind);
    let deployed = 0;
    for (const v of variants) {
      const r = runContender(base, { label: 'EPARA', spec: { kind: 'epara', ...v.systemOptions, placementOptions: v.placementOptions } }).result;
      const total = r.total.goodputPerSec;
      if (v.name === 'deployed') deployed = total;
      const perService = Object.fromEntries(Object.entries(r.perService).map(([id, s]) => [id, Math.round(s.goodputPerSec * 10) / 10]));
      const placement = r.systemInfo['placement'] as { shortages?: string[] } | undefined;
      const row = {
        kind,
        scale,
        variant: v.name,
        goodput: Math.round(total * 10) / 10,
        change: v.name === 'deployed' ? null : `${total >= deployed ? '+' : ''}${((100 * (total - deployed)) / deployed).toFixed(2)} %`,
        perService,
        ...(placement?.shortages ? { shortages: placement.shortages.join(' ') } : {}),
      };
      out.push(row);
      console.log(JSON.stringify(row));
    }
  }
}
console.log(JSON.stringify({ seed, rows: out.length }));

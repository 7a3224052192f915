/**
 * `tsx bench/sim-losses.ts [mixed|latency|frequency ...] [--scales 4,8] [--by-service] [--seed N] [--set option=value ...]`
 * (after `pnpm build`): where each system's offered items go at the quick E1 sweep's load points (seed 1, 20 s),
 * for EPARA, the best deployable baseline and the upper bound — `runLossBreakdown` of `@epara/sim`: good; infeasible
 * for every system (uplink, on arrival); refused, expired, late, failed, unfinished. `--set` passes an EPARA system
 * option (e.g. `--set egressAwareOffload=false`; a dotted name sets a nested option,
 * e.g. `--set placementOptions.floorFairShare=false`). Last line: one JSON object.
 */
import { loadavg } from 'node:os';
import type { MixKind } from '../packages/sim/dist/index.js';
import { runLossBreakdown } from '../packages/sim/dist/analysis.js';

const SCALES: Record<string, readonly number[]> = { mixed: [1, 2, 3, 4, 6, 8, 10, 12], latency: [1, 2, 3, 4, 6, 8, 10], frequency: [1, 2, 3, 4, 6, 8, 10, 12, 16] };
const args = process.argv.slice(2);
const eparaOptions: Record<string, unknown> = {};
const seedAt = process.argv.indexOf('--seed');
const seed = seedAt > 0 ? Number(process.argv[seedAt + 1]) : 1;
let scales: number[] | null = null;
const kinds: MixKind[] = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i]!;
  if (a === '--scales') scales = args[++i]!.split(',').map(Number);
  else if (a === '--seed') i++;
  else if (a === '--set') {
    const [k, v] = args[++i]!.split('=');
    setOption(eparaOptions, k!, v === 'true' ? true : v === 'false' ? false : Number.isNaN(Number(v)) ? v : Number(v));
  } else if (a !== '--by-service') kinds.push(a as MixKind);
}
const bySvc = args.includes('--by-service');
const out: unknown[] = [];
for (const kind of kinds.length ? kinds : (['mixed', 'latency', 'frequency'] as MixKind[])) {
  for (const row of runLossBreakdown({ seed, quick: true, eparaOptions }, kind, scales ?? SCALES[kind]!)) {
    const flat = { kind: row.kind, scale: row.scale, system: row.system, goodputPerSec: Math.round(row.goodputPerSec), ...row.total };
    out.push(flat);
    console.log(JSON.stringify(flat));
    if (bySvc) for (const [id, t] of Object.entries(row.perService)) console.log(`  ${id}: ${JSON.stringify(t)}`);
  }
}
console.log(JSON.stringify({ eparaOptions, losses: out, loadAvg: loadavg().map((x) => Math.round(x * 10) / 10) }));

/** Sets `name` (dotted for a nested option, e.g. `placementOptions.floorFairShare`) to `value` in `into`. */
function setOption(into: Record<string, unknown>, name: string, value: unknown): void {
  const path = name.split('.');
  let at = into;
  for (const key of path.slice(0, -1)) at = (at[key] ??= {}) as Record<string, unknown>;
  at[path[path.length - 1]!] = value;
}

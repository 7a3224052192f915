/**
 * `tsx bench/sim-sweeps.ts [mixed|frequency|latency ...] [--seed N] [--set name=value ...]`: the bench's quick E1 sweeps (seed
 * 1, 20 s runs; after `pnpm build`) without E6's 1000-server point, to measure an EPARA policy change on the same figures the bench
 * reports. `--set egressAwareOffload=false` runs EPARA with that system option (a dotted name sets a nested one:
 * `--set placementOptions.floorFairShare=false`). Last line: one JSON object.
 */
import { loadavg } from 'node:os';
import { runLoadSweep, type MixKind } from '../packages/sim/dist/index.js';

const args = process.argv.slice(2);
const eparaOptions: Record<string, unknown> = {};
const seedAt = process.argv.indexOf('--seed');
const seed = seedAt > 0 ? Number(process.argv[seedAt + 1]) : 1;
for (let i = 0; i < args.length; i++) {
  if (args[i] !== '--set') continue;
  const [k, v] = args[i + 1]!.split('=');
  setOption(eparaOptions, k!, v === 'true' ? true : v === 'false' ? false : Number.isNaN(Number(v)) ? v : Number(v));
}
const kinds = args.filter((a, i) => !a.startsWith('--') && args[i - 1] !== '--set' && args[i - 1] !== '--seed') as MixKind[];
const out: Record<string, unknown> = {};
for (const kind of kinds.length ? kinds : (['mixed', 'frequency', 'latency'] as MixKind[])) {
  const r = runLoadSweep({ seed, quick: true, eparaOptions }, kind, `bench-${kind}`);
  out[`${kind}VsBestDeployable`] = r.figures['maxRatio'];
  out[`${kind}Ratios`] = r.figures['ratios'];
  if (kind === 'mixed') {
    out['vsUpperBound'] = r.figures['vsUpperBound'];
    out['minServiceAttainment'] = r.figures['minServiceAttainment'];
  }
  const epara = r.tables[1]!.rows.filter((row) => row[2] === 'EPARA').map((row) => row[3]);
  out[`${kind}EparaGoodput`] = epara.join(',');
  console.log(kind, JSON.stringify(out));
}
console.log(JSON.stringify({ eparaOptions, ...out, loadAvg: loadavg().map((x) => Math.round(x * 10) / 10) }));

/** Sets `name` (dotted for a nested option, e.g. `placementOptions.floorFairShare`) to `value` in `into`. */
function setOption(into: Record<string, unknown>, name: string, value: unknown): void {
  const path = name.split('.');
  let at = into;
  for (const key of path.slice(0, -1)) at = (at[key] ??= {}) as Record<string, unknown>;
  at[path[path.length - 1]!] = value;
}

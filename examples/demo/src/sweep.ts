import { loadavg } from 'node:os';
import { table } from './format.js';
import { compare, profileDemo, type DemoResult } from './main.js';
import { resolveDemoOptions, type DemoOptions } from './options.js';

/** Loads of `--sweep` when `--loads` is not given: below, around and past the baseline's capacity (docs/demo.md §5). */
export const SWEEP_LOADS = [1, 2, 3, 4, 5, 6] as const;

/** Seconds per load and system of `--sweep` when `--duration` is not given. */
export const SWEEP_DURATION_SEC = 10;

/** One load of a sweep: both systems' overall goodput and attainment, and their ratio. */
export interface SweepRow {
  readonly load: number;
  readonly eparaGoodputPerSec: number;
  readonly tritonGoodputPerSec: number;
  readonly ratio: number | null;
  readonly eparaAttainment: number;
  readonly tritonAttainment: number;
  /** The machine's 1-minute load average when the load's two runs ended (how much else competed for the cores). */
  readonly machineLoad: number;
}

/** Options of {@link sweep}: the demo's options (its `load` is ignored) and the loads to run. */
export interface SweepOptions extends DemoOptions {
  /** Load multipliers to run, in order. @default {@link SWEEP_LOADS} */
  readonly loads?: readonly number[];
}

/**
 * Runs the demo's comparison at several loads (the profiles are measured once), each for `duration` seconds
 * per system (default {@link SWEEP_DURATION_SEC}), and returns one row per load.
 *
 * @throws EparaError `INVALID_OPTIONS` for a bad option or load.
 * @example
 * ```ts
 * const rows = await sweep({ loads: [1, 4], duration: 5 });
 * for (const line of sweepTable(rows)) console.log(line);
 * ```
 */
export async function sweep(options: SweepOptions = {}): Promise<SweepRow[]> {
  const loads = options.loads ?? SWEEP_LOADS;
  const first = resolveDemoOptions({ ...options, duration: options.duration ?? SWEEP_DURATION_SEC, load: loads[0] ?? 1 });
  for (const load of loads) resolveDemoOptions({ ...options, load });
  first.log(`EPARA demo sweep: loads ${loads.join(', ')}, ${first.durationMs / 1000} s per load and system, seed ${first.seed}`);
  const measured = await profileDemo(first);
  const rows: SweepRow[] = [];
  for (const load of loads) {
    if (first.signal?.aborted) break;
    first.log(`\nload ×${load}…`);
    const o = { ...first, load, log: () => {} };
    rows.push(sweepRow(await compare(o, measured)));
    const r = rows[rows.length - 1]!;
    first.log(`  EPARA ${r.eparaGoodputPerSec.toFixed(1)}/s (${pct(r.eparaAttainment)}), Triton-like ${r.tritonGoodputPerSec.toFixed(1)}/s (${pct(r.tritonAttainment)}); machine load average ${r.machineLoad.toFixed(1)}`);
  }
  return rows;
}

/** The overall figures of one comparison as a sweep row. */
export function sweepRow(r: DemoResult): SweepRow {
  return {
    load: r.load,
    eparaGoodputPerSec: r.epara.overall.goodputPerSec,
    tritonGoodputPerSec: r.tritonLike.overall.goodputPerSec,
    ratio: r.ratios['overall']?.goodput ?? null,
    eparaAttainment: r.epara.overall.attainment,
    tritonAttainment: r.tritonLike.overall.attainment,
    machineLoad: loadavg()[0]!,
  };
}

const pct = (v: number): string => `${(100 * v).toFixed(1)}%`;

/** The sweep as an aligned table: load × (goodput of each system, ratio, attainment of each system). */
export function sweepTable(rows: readonly SweepRow[]): string[] {
  const head = ['load', 'EPARA goodput/s', 'Triton-like goodput/s', 'ratio', 'EPARA att.', 'Triton-like att.', 'machine load avg'];
  const body = rows.map((r) => [
    `×${r.load}`,
    r.eparaGoodputPerSec.toFixed(1),
    r.tritonGoodputPerSec.toFixed(1),
    r.ratio === null ? 'inf' : `${r.ratio.toFixed(2)}x`,
    pct(r.eparaAttainment),
    pct(r.tritonAttainment),
    r.machineLoad.toFixed(1),
  ]);
  return table([head, ...body]);
}

/** The last line of a sweep: one JSON object. */
export function sweepLine(rows: readonly SweepRow[], durationSec: number): string {
  const round = (v: number | null): number | null => (v === null ? null : Math.round(v * 1000) / 1000);
  return JSON.stringify({
    demo: 'epara-sweep',
    durationSec,
    rows: rows.map((r) => ({ load: r.load, epara: round(r.eparaGoodputPerSec), tritonLike: round(r.tritonGoodputPerSec), ratio: round(r.ratio), eparaAttainment: round(r.eparaAttainment), tritonAttainment: round(r.tritonAttainment), machineLoad: round(r.machineLoad) })),
  });
}

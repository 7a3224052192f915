import { TARGET_ATTAINMENT, probeSeed, type Calibration } from './calibrate.js';
import { CONFIRM_RULE, confirmedProbe, searchKnee, type Knee } from './knee.js';
import { confirmEnds, type RawReading } from './calibration-search.js';
import { gridLoad, gridLoadAtLeast, stepsPerDoubling } from './load-grid.js';
import { MIN_LOAD } from './workload.js';
import { serviceLine } from './report.js';
import { runSystem, type TrialContext } from './trials.js';

/** Each system's capacity: the highest offered load at which it kept {@link TARGET_ATTAINMENT}, bracketed. */
export interface CapacityResult {
  readonly epara: Knee;
  readonly baseline: Knee;
  /** EPARA's highest passing fraction ÷ the baseline's; `null` when either never passed. */
  readonly ratio: number | null;
  /** The ratio's range given both brackets: passed ÷ the other's failed, failed ÷ the other's passed. */
  readonly ratioMin: number | null;
  readonly ratioMax: number | null;
  /** Every EPARA probe run (a confirmed reading is two), with what each service attained: where it loses. */
  readonly eparaRuns: readonly CapacityRun[];
}

/** One EPARA run of the capacity search. */
export interface CapacityRun {
  readonly fraction: number;
  readonly seed: number;
  readonly attainment: number;
  /** `image 97% chat 100% …` */
  readonly services: string;
}


/** Options of {@link measureCapacity}. */
export interface CapacityOptions {
  readonly calibration: Calibration;
  readonly seed: number;
  readonly durationMs: number;
  /** Step of the outward search, as the calibration's. @default 2 */
  readonly factor?: number;
  /** Outward steps beyond the first probe. */
  readonly maxSteps: number;
  /** Most geometric bisections of each bracket; EPARA's stops at the baseline's resolution. */
  readonly bisections: number;
  /** Puts EPARA's placement for an offered load (the placement follows the forecast, as the baseline's does). */
  readonly placeEpara: (load: number) => Promise<void>;
  /** Runs the baseline's own search when the calibration did not (a fixed `--load`): one run per call, `repeat` 1 on the second workload. */
  readonly baselineProbe: (fraction: number, repeat: number) => Promise<number>;
  /** Readings whose median decides each end of EPARA's final bracket, as the calibration's. @default 1 */
  readonly confirmRuns?: number;
}

/**
 * Capacity at the SLO, the second verdict: the same short bracketed search (×2 steps, then geometric
 * bisections down to the baseline's resolution, on the calibration's seeded workload and probe length) for
 * EPARA as the calibration ran for the baseline, starting at the baseline's lowest failing fraction. Each system is configured for the load it is
 * probed at (the baseline's static placement and EPARA's placement both follow the forecast).
 */
export async function measureCapacity(ctx: TrialContext, o: CapacityOptions): Promise<CapacityResult> {
  const c = o.calibration;
  // EPARA is probed on the calibration's grid of loads (see `load-grid.ts`) when the calibration searched.
  const factor = o.factor ?? 2;
  const perDoubling = stepsPerDoubling(factor, o.bisections);
  const snap = (fraction: number): number => (c.searched ? gridLoad(c.capacityLoad * fraction, perDoubling) / c.capacityLoad : fraction);
  const search = { target: TARGET_ATTAINMENT, factor, maxSteps: o.maxSteps, bisections: o.bisections, minFraction: gridLoadAtLeast(MIN_LOAD, perDoubling) / c.capacityLoad };
  const baseline = c.searched ? c.knee : await searchKnee({ ...search, start: c.fraction, known: c.knee, probe: confirmedProbe(o.baselineProbe, { target: TARGET_ATTAINMENT, ...CONFIRM_RULE }) });
  // Start where the baseline first failed: EPARA passing there already says it carries more; bisect only down
  // to the baseline's bracket, so both capacities are known to the same resolution.
  const resolution = baseline.passed !== null && baseline.failed !== null ? baseline.failed / baseline.passed : 1;
  const eparaRuns: CapacityRun[] = [];
  const readings = new Map<string, Promise<number>>();
  // One run per (load, workload), re-placed for its load first (a no-op when the placement is the same).
  const read = (at: number, repeat: number): Promise<number> => {
    const fraction = snap(at);
    const key = `${fraction}/${repeat}`;
    let r = readings.get(key);
    if (r === undefined) readings.set(key, (r = runEpara(fraction, repeat)));
    return r;
  };
  const runEpara = async (fraction: number, repeat: number): Promise<number> => {
    const load = c.capacityLoad * fraction;
    await o.placeEpara(load);
    const label = `capacity ${(100 * fraction).toFixed(1)}% EPARA${repeat > 0 ? ' (confirm)' : ''}`;
    const r = await runSystem(ctx, { system: 'epara', label, seed: probeSeed(o.seed, repeat), load, durationMs: o.durationMs });
    const run = { fraction, seed: probeSeed(o.seed, repeat), attainment: r.report.overall.attainment, services: serviceLine(r.report) };
    eparaRuns.push(run);
    ctx.log(`  ${label}: load ×${load.toFixed(2)}, EPARA attainment ${(100 * run.attainment).toFixed(1)}%, goodput ${r.report.overall.goodputPerSec.toFixed(0)}/s (${run.services})`);
    return run.attainment;
  };
  let epara = await searchKnee({
    ...search,
    resolution,
    start: baseline.failed ?? baseline.passed ?? c.fraction,
    // Confirmed like the baseline's: a reading near the line is measured again on the second workload.
    probe: confirmedProbe(read, { target: TARGET_ATTAINMENT, ...CONFIRM_RULE }),
  });
  const runs = o.confirmRuns ?? 1;
  if (runs > 1) {
    const step = epara.passed !== null && epara.failed !== null ? epara.failed / epara.passed : 2 ** (1 / perDoubling);
    const known: RawReading[] = [];
    for (const [key, r] of readings) {
      const [fraction, repeat] = key.split('/').map(Number);
      known.push({ fraction: fraction!, repeat: repeat!, attainment: await r });
    }
    epara = await confirmEnds(epara, { target: TARGET_ATTAINMENT, step, runs, minFraction: search.minFraction, attainment: read, known, snap });
  }
  if (c.searched) epara = { ...epara, passed: epara.passed === null ? null : snap(epara.passed), failed: epara.failed === null ? null : snap(epara.failed) };
  const div = (a: number | null, b: number | null): number | null => (a === null || b === null || b === 0 ? null : a / b);
  return {
    epara,
    baseline,
    ratio: div(epara.passed, baseline.passed),
    ratioMin: div(epara.passed, baseline.failed),
    ratioMax: div(epara.failed, baseline.passed),
    eparaRuns,
  };
}

/** `12.5–17.7%`: a knee's bracket as fractions of capacity. */
export function formatKnee(k: Knee): string {
  const pct = (v: number | null): string => (v === null ? '?' : `${(100 * v).toFixed(1)}%`);
  return `passes at ${pct(k.passed)}, fails at ${pct(k.failed)}`;
}

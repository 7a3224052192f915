import { CONFIRM_RULE, confirmedProbe, searchKnee, type Knee } from './knee.js';

/** What one short baseline run read. */
export interface CalibrationReading {
  readonly attainment: number;
  readonly goodputPerSec: number;
}

/** Options of {@link searchCalibration}. */
export interface CalibrationSearchOptions {
  /** Runs the baseline at a fraction of capacity with a `max_queue_delay`, on workload `repeat` (0, 1, 2). */
  readonly probe: (fraction: number, maxQueueDelayMs: number, repeat: number) => Promise<CalibrationReading>;
  /** Attainment the baseline must keep to pass. */
  readonly target: number;
  /** First fraction probed. */
  readonly start: number;
  /** Most outward steps of the coarse search. */
  readonly maxSteps: number;
  /**
   * Step of the coarse search (×factor up while the baseline passes, ÷factor down while it fails), then
   * `bisections` geometric bisections: a bracket of `factor^(1/2^bisections)`. @default 2
   */
  readonly factor?: number;
  /** Geometric bisections of the coarse bracket. */
  readonly bisections: number;
  /** Lowest fraction worth probing. */
  readonly minFraction: number;
  /** The `max_queue_delay` the search starts with (the simulator's default). */
  readonly defaultQueueDelayMs: number;
  /** The `max_queue_delay` values swept. */
  readonly queueDelaysMs: readonly number[];
  /** A fixed fraction: no search, the sweep runs there. */
  readonly fixedFraction?: number;
  /** Workloads each queue delay of the sweep is read on (their mean goodput decides). @default 1 */
  readonly sweepRuns?: number;
  /**
   * A queue delay other than the default is kept only when its goodput beats the default's by more than this
   * share: readings that differ by less are the same within a probe's noise. @default 0
   */
  readonly sweepMargin?: number;
  /**
   * Maps a fraction the search computed to the one it probes (a grid of loads the same in every run, see
   * `load-grid.ts`): readings are keyed, and the result reported, by the snapped fraction. @default identity
   */
  readonly snap?: (fraction: number) => number;
  /**
   * Readings, on as many workloads, that decide each end of the final bracket by their median (see
   * {@link confirmEnds}); 1 leaves the bracket as the search found it. @default 1
   */
  readonly confirmRuns?: number;
}

/** Where the calibration landed. */
export interface CalibrationSearch {
  /** The chosen fraction: the lowest at which the baseline, at its best queue delay, fell below the target. */
  readonly fraction: number;
  /** The best `max_queue_delay` at that fraction (highest goodput of the sweep). */
  readonly maxQueueDelayMs: number;
  /** The baseline's bracket at that queue delay. */
  readonly knee: Knee;
  readonly searched: boolean;
}

/**
 * The calibration's search, with the runs injected (a pure function of the readings). Three steps:
 *
 * 1. the knee at the default queue delay: ×2 steps from `start`, then `bisections` geometric bisections;
 * 2. the `max_queue_delay` sweep at that bracket's failing fraction — next to the knee, where the queue delay
 *    decides how much of the load is served in time, not in the collapse a ×2 step lands in (where the sweep
 *    compared 35–60% readings whose order was noise: three quiet runs picked 1, 10 and 5 ms there, and
 *    the knee then moved with the pick);
 * 3. the knee at the best value, from that fraction: one ÷step down when it still fails there, ×step up while
 *    it passes — the bracket keeps the resolution of step 1.
 *
 * Every reading near the line is confirmed ({@link confirmedProbe}: a second workload, a third on a tie), and
 * no (fraction, queue delay, workload) is run twice.
 */
export async function searchCalibration(o: CalibrationSearchOptions): Promise<CalibrationSearch> {
  const readings = new Map<string, Promise<CalibrationReading>>();
  const snap = o.snap ?? ((f: number): number => f);
  const read = (at: number, q: number, repeat: number): Promise<CalibrationReading> => {
    const f = snap(at);
    const key = `${f}/${q}/${repeat}`;
    let r = readings.get(key);
    if (r === undefined) readings.set(key, (r = o.probe(f, q, repeat)));
    return r;
  };
  const attainmentAt = (q: number): ((f: number) => Promise<number>) => confirmedProbe(async (f, repeat) => (await read(f, q, repeat)).attainment, { target: o.target, ...CONFIRM_RULE });
  const q0 = o.defaultQueueDelayMs;
  const sweepAt = async (at: number): Promise<number> => {
    const runs = Math.max(1, o.sweepRuns ?? 1);
    // Mean goodput over the same `runs` workloads for every queue delay.
    const goodputAt = async (q: number): Promise<number> => {
      let sum = 0;
      for (let repeat = 0; repeat < runs; repeat++) sum += (await read(at, q, repeat)).goodputPerSec;
      return sum / runs;
    };
    const base = await goodputAt(q0);
    let best = { q: q0, goodput: base };
    for (const q of o.queueDelaysMs.filter((x) => x !== q0)) {
      const goodput = await goodputAt(q);
      if (goodput > best.goodput) best = { q, goodput };
    }
    return best.goodput > base * (1 + (o.sweepMargin ?? 0)) ? best.q : q0;
  };
  if (o.fixedFraction !== undefined) {
    const at = snap(o.fixedFraction);
    const q = await sweepAt(at);
    const passes = (await attainmentAt(q)(at)) >= o.target;
    return { fraction: at, maxQueueDelayMs: q, knee: { passed: passes ? at : null, failed: passes ? null : at, probes: [] }, searched: false };
  }
  const factor = o.factor ?? 2;
  const search = { target: o.target, start: snap(o.start), factor, maxSteps: o.maxSteps, minFraction: o.minFraction };
  const atDefault = await searchKnee({ ...search, bisections: o.bisections, probe: attainmentAt(q0) });
  const at = snap(atDefault.failed ?? atDefault.passed ?? o.start);
  const step = atDefault.passed !== null && atDefault.failed !== null ? atDefault.failed / atDefault.passed : factor ** (1 / 2 ** o.bisections);
  const q = await sweepAt(at);
  let knee = atDefault;
  if (q !== q0) {
    const probe = attainmentAt(q);
    const passes = (await probe(at)) >= o.target;
    // Enough ×step moves to cover the coarse ×2 the sweep could shift the knee by, at the same resolution.
    const moves = Math.max(o.maxSteps, Math.ceil(Math.log(factor) / Math.log(step)) + 1);
    knee = await searchKnee({ ...search, factor: step, maxSteps: moves, bisections: 0, known: passes ? { passed: at, failed: null } : { passed: null, failed: at }, probe });
  }
  const runs = o.confirmRuns ?? 1;
  if (runs > 1) {
    // Every reading the search took at this queue delay counts in the final fit.
    const known: RawReading[] = [];
    for (const [key, r] of readings) {
      const [f, at, repeat] = key.split('/').map(Number);
      if (at === q) known.push({ fraction: f!, repeat: repeat!, attainment: (await r).attainment });
    }
    knee = await confirmEnds(knee, { target: o.target, step, runs, minFraction: o.minFraction, known, snap, attainment: async (f, repeat) => (await read(f, q, repeat)).attainment });
  }
  const fraction = knee.failed ?? knee.passed ?? at;
  return { fraction: snap(fraction), maxQueueDelayMs: q, knee: { ...knee, passed: knee.passed === null ? null : snap(knee.passed), failed: knee.failed === null ? null : snap(knee.failed) }, searched: true };
}

/** Moves of the bracket {@link confirmEnds} makes at most (each costs up to `runs` readings). */
const MAX_CONFIRM_MOVES = 3;

/** Two bracket ends within this factor of `step` are one step apart (grid loads are rounded). */
const SAME_STEP = 1.02;

/** One raw reading of a search: a fraction, the workload it ran (`repeat`), the attainment it read. */
export interface RawReading {
  readonly fraction: number;
  readonly repeat: number;
  readonly attainment: number;
}

/**
 * The bracket a monotone fit of every reading places: the median of each fraction's readings, pooled with its
 * neighbours wherever a higher load reads better than a lower one (pool-adjacent-violators, weighted by the
 * readings each holds), so that attainment never rises with the load. `failed` is the lowest fraction whose
 * fitted attainment is below `target`, `passed` the highest below it (`null` when none). One reading is one
 * vote among all the search took, not the whole verdict on its end of the bracket: two adjacent loads read
 * 88.6% and 90.8% on single workloads decide nothing, their pooled figure with the loads around them does.
 */
export function fittedBracket(readings: readonly { fraction: number; attainment: number }[], target: number): { passed: number | null; failed: number | null } {
  const { fractions, fit } = monotoneFit(readings);
  const k = fit.findIndex((v) => v < target);
  if (k < 0) return { passed: fractions.length > 0 ? fractions[fractions.length - 1]! : null, failed: null };
  return { passed: k > 0 ? fractions[k - 1]! : null, failed: fractions[k]! };
}

/**
 * Where the monotone fit of {@link fittedBracket} crosses `target`, interpolated between its bracket's two
 * fractions in log load (`null` when the fit does not cross it among the fractions read). A continuous figure:
 * the bracket's ends are grid loads, a step (×1.19) apart, and one reading more or less moves them a whole step;
 * the crossing moves by the share of the step that reading's votes carry.
 */
export function fittedCrossing(readings: readonly { fraction: number; attainment: number }[], target: number): number | null {
  const { fractions, fit } = monotoneFit(readings);
  const k = fit.findIndex((v) => v < target);
  if (k <= 0) return null;
  const [a, b] = [fit[k - 1]!, fit[k]!];
  const t = a === b ? 0.5 : (a - target) / (a - b);
  return fractions[k - 1]! * (fractions[k]! / fractions[k - 1]!) ** t;
}

/** Pool-adjacent-violators over the per-fraction medians (non-increasing in load, weighted by readings). */
function monotoneFit(readings: readonly { fraction: number; attainment: number }[]): { fractions: number[]; fit: number[] } {
  const by = new Map<number, number[]>();
  for (const r of readings) by.set(r.fraction, [...(by.get(r.fraction) ?? []), r.attainment]);
  const fractions = [...by.keys()].sort((a, b) => a - b);
  // Blocks of adjacent fractions: [first index, last index, weight, value].
  const blocks: [number, number, number, number][] = [];
  fractions.forEach((f, i) => {
    const values = by.get(f)!;
    blocks.push([i, i, values.length, median(values)]);
    // Non-increasing in load: a block reading better than the one before it is pooled with it.
    while (blocks.length > 1 && blocks[blocks.length - 1]![3] > blocks[blocks.length - 2]![3]) {
      const b = blocks.pop()!;
      const a = blocks.pop()!;
      blocks.push([a[0], b[1], a[2] + b[2], (a[2] * a[3] + b[2] * b[3]) / (a[2] + b[2])]);
    }
  });
  return { fractions, fit: fractions.map((_, i) => blocks.find((b) => b[0] <= i && i <= b[1])![3]) };
}

function median(values: readonly number[]): number {
  const v = [...values].sort((a, b) => a - b);
  return v.length % 2 === 1 ? v[(v.length - 1) / 2]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2;
}

/**
 * The final bracket decided by every reading: each end read on `runs` workloads (the ones already read count),
 * then placed by {@link fittedBracket} over all of them — the search's readings (`known`) too. Where the fit puts
 * the line past the highest load read, the bracket moves a `step` up; below the lowest, a step down; at most
 * {@link MAX_CONFIRM_MOVES} times. Deciding each end by its own median of three (the previous rule) still
 * left one step of the bracket to three readings of ±7 points where adjacent grid loads differ by 3–10: six quiet
 * runs landed on four loads (×2.00 to ×3.36); the fit pools the readings of the loads around the line.
 */
export async function confirmEnds(
  knee: Knee,
  o: {
    target: number;
    step: number;
    runs: number;
    minFraction: number;
    attainment: (fraction: number, repeat: number) => Promise<number>;
    /** Readings already taken (the search's), counted in the fit. @default none */
    known?: readonly RawReading[];
    /** Maps a fraction a step computes to the one probed (the grid of loads). @default identity */
    snap?: (fraction: number) => number;
  },
): Promise<Knee> {
  const snap = o.snap ?? ((f: number): number => f);
  const probes = [...knee.probes];
  const raw = new Map<string, RawReading>();
  for (const r of o.known ?? []) raw.set(`${r.fraction}/${r.repeat}`, r);
  const readEnd = async (f: number): Promise<void> => {
    const values: number[] = [];
    for (let repeat = 0; repeat < o.runs; repeat++) {
      const key = `${f}/${repeat}`;
      let r = raw.get(key);
      if (r === undefined) raw.set(key, (r = { fraction: f, repeat, attainment: await o.attainment(f, repeat) }));
      values.push(r.attainment);
    }
    probes.push({ fraction: f, attainment: median(values) });
  };
  let { passed, failed } = knee;
  for (let move = 0; ; move++) {
    if (passed !== null) await readEnd(passed);
    if (failed !== null) await readEnd(failed);
    const fit = fittedBracket([...raw.values()], o.target);
    let next: { passed: number | null; failed: number | null };
    if (fit.failed === null) next = { passed: fit.passed, failed: fit.passed === null ? null : snap(fit.passed * o.step) };
    else if (fit.passed === null) {
      const below = snap(fit.failed / o.step);
      next = { passed: below < o.minFraction / 1.02 ? null : below, failed: fit.failed };
    } else if (fit.failed / fit.passed > o.step * SAME_STEP) {
      // Loads between the two were never read (the search stepped ×2 there): read one step above the pass.
      next = { passed: fit.passed, failed: snap(fit.passed * o.step) };
    } else next = fit;
    const same = next.passed === passed && next.failed === failed;
    if (same || move >= MAX_CONFIRM_MOVES) {
      if (!same) ({ passed, failed } = fit);
      break;
    }
    ({ passed, failed } = next);
  }
  return { passed, failed, probes, crossing: fittedCrossing([...raw.values()], o.target) };
}

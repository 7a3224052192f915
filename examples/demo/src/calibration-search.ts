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
  /** Most outward ×2 steps of the coarse search. */
  readonly maxSteps: number;
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
    let best = { q: q0, goodput: -Infinity };
    for (const q of [q0, ...o.queueDelaysMs.filter((x) => x !== q0)]) {
      const r = await read(at, q, 0);
      if (r.goodputPerSec > best.goodput) best = { q, goodput: r.goodputPerSec };
    }
    return best.q;
  };
  if (o.fixedFraction !== undefined) {
    const at = snap(o.fixedFraction);
    const q = await sweepAt(at);
    const passes = (await attainmentAt(q)(at)) >= o.target;
    return { fraction: at, maxQueueDelayMs: q, knee: { passed: passes ? at : null, failed: passes ? null : at, probes: [] }, searched: false };
  }
  const search = { target: o.target, start: snap(o.start), factor: 2, maxSteps: o.maxSteps, minFraction: o.minFraction };
  const atDefault = await searchKnee({ ...search, bisections: o.bisections, probe: attainmentAt(q0) });
  const at = snap(atDefault.failed ?? atDefault.passed ?? o.start);
  const step = atDefault.passed !== null && atDefault.failed !== null ? atDefault.failed / atDefault.passed : 2 ** (1 / 2 ** o.bisections);
  const q = await sweepAt(at);
  let knee = atDefault;
  if (q !== q0) {
    const probe = attainmentAt(q);
    const passes = (await probe(at)) >= o.target;
    // Enough ×step moves to cover the coarse ×2 the sweep could shift the knee by, at the same resolution.
    const moves = Math.max(o.maxSteps, Math.ceil(Math.log(2) / Math.log(step)) + 1);
    knee = await searchKnee({ ...search, factor: step, maxSteps: moves, bisections: 0, known: passes ? { passed: at, failed: null } : { passed: null, failed: at }, probe });
  }
  const runs = o.confirmRuns ?? 1;
  if (runs > 1) knee = await confirmEnds(knee, { target: o.target, step, runs, minFraction: o.minFraction, attainment: async (f, repeat) => (await read(f, q, repeat)).attainment });
  const fraction = knee.failed ?? knee.passed ?? at;
  return { fraction: snap(fraction), maxQueueDelayMs: q, knee: { ...knee, passed: knee.passed === null ? null : snap(knee.passed), failed: knee.failed === null ? null : snap(knee.failed) }, searched: true };
}

/** Moves of the bracket {@link confirmEnds} makes at most (each costs up to `runs` readings). */
const MAX_CONFIRM_MOVES = 3;

/**
 * The final bracket with each end decided by the median of `runs` readings on as many workloads (the ones
 * already read count), not by the one or two that placed it: a failing end whose median passes moves the
 * bracket a `step` up, a passing end whose median fails moves it a step down, at most
 * {@link MAX_CONFIRM_MOVES} times. The confirmation band of the search only re-reads readings near the line;
 * a single reading can be far off it (a quiet run read the baseline at 79.2% where every other reading at that
 * load, in three runs, gave 93.9–99.5%), and the median of three outvotes one such reading where a mean does not.
 */
export async function confirmEnds(
  knee: Knee,
  o: { target: number; step: number; runs: number; minFraction: number; attainment: (fraction: number, repeat: number) => Promise<number> },
): Promise<Knee> {
  const probes = [...knee.probes];
  const medianAt = async (f: number): Promise<number> => {
    const values: number[] = [];
    for (let repeat = 0; repeat < o.runs; repeat++) values.push(await o.attainment(f, repeat));
    values.sort((a, b) => a - b);
    const m = values.length % 2 === 1 ? values[(values.length - 1) / 2]! : (values[values.length / 2 - 1]! + values[values.length / 2]!) / 2;
    probes.push({ fraction: f, attainment: m });
    return m;
  };
  let { passed, failed } = knee;
  for (let move = 0; move < MAX_CONFIRM_MOVES; move++) {
    if (failed !== null && (await medianAt(failed)) >= o.target) {
      [passed, failed] = [failed, failed * o.step];
      continue;
    }
    if (passed !== null && (await medianAt(passed)) < o.target) {
      const below = passed / o.step;
      [passed, failed] = [below < o.minFraction / 1.02 ? null : below, passed];
      if (passed === null) break;
      continue;
    }
    break;
  }
  return { passed, failed, probes };
}

/** One probe of a knee search: the attainment a system reached at an offered load. */
export interface KneeProbe {
  readonly fraction: number;
  readonly attainment: number;
}

/** Where a system's attainment crosses the target, bracketed by the probes that ran. */
export interface Knee {
  /** The highest fraction probed at which the system kept the target attainment; `null`: none did. */
  readonly passed: number | null;
  /** The lowest fraction probed above `passed` at which it fell below the target; `null`: none did. */
  readonly failed: number | null;
  readonly probes: readonly KneeProbe[];
  /**
   * Where a monotone fit of every reading crosses the target, interpolated in log load (`fittedCrossing`): set
   * by the confirmation of the final bracket, `null` when the fit does not cross it among the loads read.
   */
  readonly crossing?: number | null;
}

/** Options of {@link searchKnee}. */
export interface KneeSearchOptions {
  /** Runs the system at a fraction of capacity and answers its SLO attainment (0–1). */
  readonly probe: (fraction: number) => Promise<number>;
  /** Attainment a system must keep to pass. */
  readonly target: number;
  /** First fraction to probe when nothing is known. */
  readonly start: number;
  /** Step of the outward search (×factor up while passing, ÷factor down while failing). */
  readonly factor: number;
  /** Most outward probes (beyond the first) before giving up on finding the other side. */
  readonly maxSteps: number;
  /** Most geometric bisections of the bracket once both sides are known. */
  readonly bisections: number;
  /**
   * Stop bisecting once `failed / passed` is at most this (to match another search's resolution).
   * @default 1 (bisect `bisections` times)
   */
  readonly resolution?: number;
  /**
   * Lowest fraction worth probing: the downward search stops there (below it the workload no longer shrinks).
   * @default 0
   */
  readonly minFraction?: number;
  /** Bracket ends already measured (no probe is repeated for them). */
  readonly known?: { readonly passed?: number | null; readonly failed?: number | null };
}

/** Two fractions within this factor are the same load: the search neither steps nor bisects between them. */
const SAME_LOAD = 1.02;

/**
 * A short bracketed search for the highest offered load at which a system still keeps `target` attainment:
 * probe `start` (unless a bracket end is known), step outward by `factor` until one probe passes and one
 * fails (at most `maxSteps` steps), then halve the bracket geometrically `bisections` times. The answer is
 * the bracket, not a point: the knee lies between `passed` and `failed` at the resolution of the last step
 * (`factor^(1/2^bisections)`). Attainment is measured, so a noisy probe can misplace the bracket by one step;
 * the probes are returned for the reader to judge.
 */
export async function searchKnee(o: KneeSearchOptions): Promise<Knee> {
  const probes: KneeProbe[] = [];
  let passed = o.known?.passed ?? null;
  let failed = o.known?.failed ?? null;
  const run = async (fraction: number): Promise<void> => {
    const attainment = await o.probe(fraction);
    probes.push({ fraction, attainment });
    if (attainment >= o.target) passed = passed === null ? fraction : Math.max(passed, fraction);
    else failed = failed === null ? fraction : Math.min(failed, fraction);
    // A probe that contradicts a bracket end (noise) moves that end: the bracket stays `passed < failed`.
    if (passed !== null && failed !== null && passed >= failed) {
      if (attainment >= o.target) failed = null;
      else passed = null;
    }
  };
  if (passed === null && failed === null) await run(o.start);
  const floor = o.minFraction ?? 0;
  for (let step = 0; step < o.maxSteps && (passed === null || failed === null); step++) {
    // A floor within a hair of the failing fraction is that fraction: probing it again only re-reads the noise.
    if (passed === null && failed! <= floor * SAME_LOAD) break;
    await run(passed === null ? Math.max(floor, failed! / o.factor) : passed * o.factor);
  }
  const fine = (): boolean => passed !== null && failed !== null && failed / passed <= Math.max(o.resolution ?? 1, SAME_LOAD) * (1 + 1e-9);
  for (let k = 0; k < o.bisections && passed !== null && failed !== null && !fine(); k++) await run(Math.sqrt(passed * failed));
  return { passed, failed, probes };
}

/** Options of {@link confirmedProbe}. */
export interface ConfirmOptions {
  /** Attainment a system must keep to pass. */
  readonly target: number;
  /**
   * A first reading within this distance of `target` is measured again on a second workload, and the mean of
   * the two decides.
   */
  readonly band: number;
  /**
   * When the mean of the two still lies within this distance of `target`, a third workload is measured and the
   * mean of the three decides. @default 0 (two readings at most)
   */
  readonly tieBand?: number;
}

/**
 * Attainment within this distance of the 90% line is re-measured before it decides a bracket end. A 5 s probe
 * of one seeded workload reads a system ±10 points off its 10 s trials at the same load on this machine (a
 * probe of 87.2% where three trials gave 98.4%), and one such reading moved the whole verdict by a step.
 */
export const CONFIRM_BAND = 0.06;

/**
 * Two readings whose mean lies within this distance of the 90% line are a coin toss: a third workload decides.
 * A quiet run's calibration read the baseline at 88.6% and 90.8% at one load (mean 89.7%: "fails", by 0.3
 * points) and chose that load, where its trials then gave 92%: both systems tied there.
 */
export const CONFIRM_TIE_BAND = 0.03;

/** The confirmation rule both systems' searches use (see {@link confirmedProbe}). */
export const CONFIRM_RULE = { band: CONFIRM_BAND, tieBand: CONFIRM_TIE_BAND } as const;

/**
 * A probe whose marginal readings are confirmed: `run(fraction, 0)` first; when its attainment lies within
 * `band` of `target`, `run(fraction, 1)` (the caller's second workload) and the mean of the two; when that mean
 * still lies within `tieBand`, `run(fraction, 2)` and the mean of the three. A clear pass or failure costs one
 * run, a marginal one two, a tie three. The same rule serves both systems' searches.
 */
export function confirmedProbe(run: (fraction: number, repeat: number) => Promise<number>, o: ConfirmOptions): (fraction: number) => Promise<number> {
  return async (fraction) => {
    const first = await run(fraction, 0);
    if (Math.abs(first - o.target) > o.band) return first;
    const two = first + (await run(fraction, 1));
    if (Math.abs(two / 2 - o.target) > (o.tieBand ?? 0)) return two / 2;
    return (two + (await run(fraction, 2))) / 3;
  };
}

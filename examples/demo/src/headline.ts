import type { CapacityResult } from './capacity.js';
import { median, type RatioSpread, type TrialPair } from './summary.js';

/*
 * Which figure answers "does EPARA carry more load at the SLO?", and how sure one run is of it. The goodput
 * ratio of the trials cannot: on the same workload it is EPARA's attainment ÷ the baseline's, so at the load
 * the calibration picks (the first at which the baseline fell below 90%) it is at most 1 ÷ the baseline's
 * attainment there — a figure set by how far past its knee the baseline landed, not by how much load EPARA
 * carries. The capacity search measures that: each system's highest load at ≥ 90% attainment, bracketed.
 */

/** What the capacity search says, within its brackets. */
export type CapacityVerdict =
  /** EPARA kept the target at a load at which the baseline fell below it. */
  | 'more'
  /** EPARA fell below the target at a load at which the baseline kept it. */
  | 'less'
  /** Both brackets overlap: the difference is below the search's resolution. */
  | 'within resolution'
  /** Skipped (`--no-capacity`), or a system never passed. */
  | 'not measured';

/** The headline figures of a run. */
export interface Headline {
  readonly capacityVerdict: CapacityVerdict;
  /**
   * Per trial, 1 ÷ the baseline's attainment (the largest goodput ratio any system could reach against it on
   * that workload), median over the trials; `null` when the baseline attained nothing.
   */
  readonly ratioCeiling: number | null;
  /** The lines that say it, for the console and the report. */
  readonly lines: readonly string[];
}

/** Tolerance on fractions from two searches over the same grid (floating-point products of the same steps). */
const SAME = 1e-6;

/** The capacity search's answer, read from its two brackets. */
export function capacityVerdict(c: CapacityResult | null): CapacityVerdict {
  if (c === null || c.ratio === null) return 'not measured';
  if (c.ratioMin !== null && c.ratioMin >= 1 - SAME && c.ratio > 1 + SAME) return 'more';
  if (c.ratioMax !== null && c.ratioMax <= 1 + SAME && c.ratio < 1 - SAME) return 'less';
  return 'within resolution';
}

const x = (v: number | null | undefined): string => (v === null || v === undefined ? '-' : `${v.toFixed(2)}×`);
const pct = (v: number | null): string => (v === null ? '-' : `${(100 * v).toFixed(1)}%`);

const SAYS: Record<CapacityVerdict, string> = {
  more: 'yes — EPARA kept ≥ 90% at a load at which the baseline fell below it',
  less: 'no — EPARA fell below 90% at a load at which the baseline kept it',
  'within resolution': 'not decided by this run — both fall below 90% within the same step of the search',
  'not measured': 'not measured (the capacity search was skipped, or a system never kept 90%)',
};

/** The headline: the capacity verdict with its bracket, and what the trials' goodput ratio can and cannot say. */
export function headline(pairs: readonly TrialPair[], ratios: Readonly<Record<string, RatioSpread>>, capacity: CapacityResult | null): Headline {
  const verdict = capacityVerdict(capacity);
  const ceilings = pairs.map((p) => p.triton.report.overall.attainment).filter((a) => a > 0).map((a) => 1 / a);
  const ratioCeiling = median(ceilings);
  const baselineAtt = median(pairs.map((p) => p.triton.report.overall.attainment));
  const overall = ratios['overall'];
  const lines: string[] = ['Does EPARA carry more load at the SLO (≥ 90% of items within their SLO)?', `  ${SAYS[verdict]}.`];
  if (capacity !== null && capacity.ratio !== null) {
    const step = capacity.baseline.passed !== null && capacity.baseline.failed !== null ? capacity.baseline.failed / capacity.baseline.passed : null;
    lines.push(
      `  capacity ratio ${x(capacity.ratio)} (EPARA ${pct(capacity.epara.passed)} ÷ baseline ${pct(capacity.baseline.passed)} of the measured capacity); the brackets allow ${x(capacity.ratioMin)}–${x(capacity.ratioMax)}.`,
      `  Uncertainty: one run's search, resolved to one step of ×${step === null ? '?' : step.toFixed(2)}; a reading within 6 points of 90% is the mean of two or three workloads. Runs can differ by a step or more: repeat the run to see the spread.`,
    );
  }
  lines.push(
    `The trials' goodput ratio ${x(overall?.median)} (range ${x(overall?.min)}–${x(overall?.max)}) is measured at the load where the baseline first fell below 90%;`,
    `  there the baseline attained ${pct(baselineAtt)}, so no system could reach more than ${x(ratioCeiling)} its goodput (1 ÷ that attainment):`,
    '  the ratio says how far past its knee the baseline was at that load, not how much more load EPARA carries.',
  );
  return { capacityVerdict: verdict, ratioCeiling, lines };
}

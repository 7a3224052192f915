import { invalidOption } from '../errors/epara-error.js';

/** Options of {@link createDemandForecaster}. */
export interface ForecastOptions {
  /** Number of independent series (e.g. services × access servers). */
  readonly series: number;
  /**
   * Half-life of the smoothed level, ms: a window's weight is `1 − 2^(−windowMs / halfLifeMs)`. Longer is
   * steadier, shorter follows drifts faster. @default 30000
   */
  readonly halfLifeMs?: number;
  /**
   * CUSUM slack per window, in standard deviations of the window's count (Poisson: `√expected`): deviations
   * smaller than this never accumulate. @default 1
   */
  readonly slack?: number;
  /** CUSUM threshold, in standard deviations: a change is declared when the cumulative sum exceeds it. @default 8 */
  readonly threshold?: number;
  /**
   * Counts below this expected value per window are treated as this value in the test (keeps a near-empty
   * series from declaring changes on single arrivals). @default 2
   */
  readonly minExpected?: number;
  /**
   * A detected shift counts only if the new level differs from the old one by at least this fraction of the
   * old level (small drifts are left to the smoothing). @default 0.25
   */
  readonly minRelativeChange?: number;
  /**
   * A shift must persist over at least this many windows before it counts (a burst of one or two windows is
   * left to the smoothing). @default 3
   */
  readonly minRunWindows?: number;
}

/** What {@link DemandForecaster.closeWindow} found. */
export interface WindowReport {
  /** Series whose level jumped (change detected) in this window, ascending. */
  readonly changed: readonly number[];
  /** Length of the window that closed, ms. */
  readonly windowMs: number;
}

/**
 * An online demand forecaster: per series, an exponentially smoothed rate with a two-sided CUSUM change
 * detector on the per-window counts, standardized by a learned spread (the smoothed squared deviation, never
 * below the Poisson `√expected`), so bursty but steady demand does not raise alarms. When a change is detected
 * and the level moved by at least `minRelativeChange`, the level jumps to the mean of the windows since the
 * deviation began (no waiting for the smoothing to catch up) and the caller learns which series moved. Pure:
 * time comes in as arguments; nothing reads a clock.
 */
export interface DemandForecaster {
  /** Sets a series' level (a prior, e.g. an operator's estimate), items/s. */
  seed(series: number, ratePerSec: number): void;
  /** Counts `count` arrivals of a series in the current window. */
  record(series: number, count?: number): void;
  /** Ends the current window at `now` (ms): updates every level and runs the change test. */
  closeWindow(now: number): WindowReport;
  /** The forecast rate of a series, items/s. */
  rate(series: number): number;
  /** Every series' forecast, items/s (a copy). */
  rates(): Float64Array;
  /** Windows closed and changes declared so far. */
  stats(): { windows: number; changes: number };
}

/**
 * Creates a {@link DemandForecaster}. The first window starts at time 0 unless {@link DemandForecaster.closeWindow}
 * is first called later (the first call measures from 0).
 *
 * @throws EparaError `INVALID_OPTIONS` for a non-integer series count or a non-positive half-life/threshold.
 * @example
 * ```ts
 * const f = createDemandForecaster({ series: 1 });
 * for (let s = 1; s <= 10; s++) { f.record(0, 5); f.closeWindow(s * 1000); }
 * f.rate(0); // ≈ 5 items/s
 * ```
 */
export function createDemandForecaster(options: ForecastOptions): DemandForecaster {
  const n = options.series;
  if (!Number.isInteger(n) || n < 0) invalidOption('series', n, 'an integer >= 0');
  const halfLife = options.halfLifeMs ?? 30_000;
  if (!(halfLife > 0)) invalidOption('halfLifeMs', halfLife, 'a number > 0');
  const slack = options.slack ?? 1;
  if (!(slack >= 0)) invalidOption('slack', slack, 'a number >= 0');
  const threshold = options.threshold ?? 8;
  if (!(threshold > 0)) invalidOption('threshold', threshold, 'a number > 0');
  const minExpected = options.minExpected ?? 2;
  if (!(minExpected > 0)) invalidOption('minExpected', minExpected, 'a number > 0');
  const minRelative = options.minRelativeChange ?? 0.25;
  if (!(minRelative >= 0)) invalidOption('minRelativeChange', minRelative, 'a number >= 0');
  const minRun = options.minRunWindows ?? 3;
  if (!(Number.isInteger(minRun) && minRun >= 1)) invalidOption('minRunWindows', minRun, 'an integer >= 1');
  const runWindows = new Uint16Array(n);
  // Smoothed squared deviation of a window's count from its expectation, per second of window (−1: none yet).
  const spread = new Float64Array(n).fill(-1);
  const level = new Float64Array(n);
  const counts = new Float64Array(n);
  const up = new Float64Array(n);
  const down = new Float64Array(n);
  // Items and time accumulated since the CUSUM of a series last sat at zero (the run that may become a change).
  const runItems = new Float64Array(n);
  const runMs = new Float64Array(n);
  const seeded = new Uint8Array(n);
  let last = 0;
  let windows = 0;
  let changes = 0;
  const check = (i: number): void => {
    if (!(Number.isInteger(i) && i >= 0 && i < n)) invalidOption('series', i, `an integer in [0, ${n})`);
  };
  return {
    seed(i, r) {
      check(i);
      if (!(r >= 0 && Number.isFinite(r))) invalidOption('ratePerSec', r, 'a finite number >= 0');
      level[i] = r;
      seeded[i] = 1;
      up[i] = down[i] = runItems[i] = runMs[i] = runWindows[i] = 0;
    },
    record(i, count = 1) {
      check(i);
      counts[i] = counts[i]! + count;
    },
    closeWindow(now) {
      const dt = now - last;
      if (!(dt > 0)) return { changed: [], windowMs: 0 };
      last = now;
      windows++;
      const alpha = 1 - 2 ** (-dt / halfLife);
      const changed: number[] = [];
      for (let i = 0; i < n; i++) {
        const c = counts[i]!;
        counts[i] = 0;
        const rate = (c * 1000) / dt;
        if (seeded[i] === 0) {
          level[i] = rate;
          seeded[i] = 1;
          continue;
        }
        const expected = (level[i]! * dt) / 1000;
        const learned = spread[i]! < 0 ? 0 : (spread[i]! * dt) / 1000;
        const sigma = Math.sqrt(Math.max(expected, minExpected, learned));
        const z = (c - expected) / sigma;
        // Winsorized at 4σ: a genuine shift must not teach the spread to ignore it.
        const dev = ((Math.min(Math.abs(c - expected), 4 * sigma) ** 2) * 1000) / dt;
        spread[i] = spread[i]! < 0 ? dev : spread[i]! + alpha * (dev - spread[i]!);
        up[i] = Math.max(0, up[i]! + z - slack);
        down[i] = Math.max(0, down[i]! - z - slack);
        if (up[i]! > 0 || down[i]! > 0) {
          runItems[i] = runItems[i]! + c;
          runMs[i] = runMs[i]! + dt;
          runWindows[i] = Math.min(65_535, runWindows[i]! + 1);
        } else {
          runItems[i] = runMs[i] = runWindows[i] = 0;
        }
        const jumpTo = runMs[i]! > 0 ? (runItems[i]! * 1000) / runMs[i]! : rate;
        const alarm = (up[i]! > threshold || down[i]! > threshold) && runWindows[i]! >= minRun;
        if (alarm && Math.abs(jumpTo - level[i]!) >= minRelative * level[i]!) {
          level[i] = jumpTo;
          up[i] = down[i] = runItems[i] = runMs[i] = runWindows[i] = 0;
          changed.push(i);
          changes++;
        } else {
          if (alarm) up[i] = down[i] = runItems[i] = runMs[i] = runWindows[i] = 0;
          level[i] = level[i]! + alpha * (rate - level[i]!);
        }
      }
      return { changed, windowMs: dt };
    },
    rate(i) {
      check(i);
      return level[i]!;
    },
    rates: () => level.slice(),
    stats: () => ({ windows, changes }),
  };
}

import { describe, expect, it } from 'vitest';
import { createDemandForecaster } from './demand-forecaster.js';
import type { ForecastOptions } from './demand-forecaster.js';

/**
 * The forecaster's rules on hand-worked figures. With `halfLifeMs: 1e12` the smoothing weight of a 1 s window is
 * about 7e-13, so the level stays at its seed between changes and every CUSUM step can be worked by hand:
 * σ = √max(expected, minExpected, learned spread), z = (count − expected) / σ, up += z − slack.
 */
const STILL = { series: 1, halfLifeMs: 1e12, slack: 0 } as const;

/** Seeds series 0 at `seed`/s and closes one 1 s window per count; returns the windows (1-based) that declared a change. */
function run(options: ForecastOptions, seed: number, counts: readonly number[]) {
  const f = createDemandForecaster(options);
  f.seed(0, seed);
  const changedAt: number[] = [];
  counts.forEach((c, k) => {
    f.record(0, c);
    if (f.closeWindow((k + 1) * 1000).changed.includes(0)) changedAt.push(k + 1);
  });
  return { f, changedAt };
}

describe('createDemandForecaster rules', () => {
  it('a change needs minRunWindows windows of deviation, then jumps to the mean of the run', () => {
    // σ = 10 (expected 100), z = 2.5, up 2.5 (not > 2.5); the spread learns 625 → σ 25: z 1.2, up 3.7 (2 windows);
    // z 1.4, up 5.1 after 3 windows: change, level = (125 + 130 + 135) / 3 = 130.
    const { f, changedAt } = run({ ...STILL, threshold: 2.5, minRunWindows: 3 }, 100, [125, 130, 135]);
    expect(changedAt).toEqual([3]);
    expect(f.rate(0)).toBe(130);
    expect(f.stats()).toEqual({ windows: 3, changes: 1 });
  });

  it('the learned spread widens σ: with threshold 5.5 the same deviation takes a fourth window', () => {
    // σ 10 then 30 (spread 900): z = 3, 1, 1, 1 → up 3, 4, 5, 6 → the alarm comes at window 4
    const { f, changedAt } = run({ ...STILL, threshold: 5.5, minRunWindows: 3 }, 100, [130, 130, 130, 130, 100]);
    expect(changedAt).toEqual([4]);
    expect(f.rate(0)).toBeCloseTo(130, 6);
  });

  it('the CUSUM must exceed the threshold, up or down (equal is not enough)', () => {
    expect(run({ ...STILL, threshold: 2.5, minRunWindows: 1 }, 100, [125]).changedAt).toEqual([]);
    expect(run({ ...STILL, threshold: 2.5, minRunWindows: 1 }, 100, [75]).changedAt).toEqual([]);
    expect(run({ ...STILL, threshold: 2.4, minRunWindows: 1 }, 100, [125]).changedAt).toEqual([1]);
    expect(run({ ...STILL, threshold: 2.4, minRunWindows: 1 }, 100, [75]).changedAt).toEqual([1]);
  });

  it('a change counts when the level moves by at least minRelativeChange of the old level', () => {
    const at = run({ ...STILL, threshold: 2, minRunWindows: 1, minRelativeChange: 0.25 }, 100, [125]);
    expect(at.changedAt).toEqual([1]);
    expect(at.f.rate(0)).toBe(125);
    expect(run({ ...STILL, threshold: 2, minRunWindows: 1, minRelativeChange: 0.25 }, 100, [124]).changedAt).toEqual([]);
  });

  it('an alarm too small to count resets the CUSUM, so it does not carry into the next window', () => {
    // window 1: z 2, up 1.5 > 1.2 but |120 − 100| < 25: no change, reset. window 2 (σ 20 from the spread 400):
    // z 1.65, up 1.15 < 1.2: nothing. Without the reset, up 2.65 with the run's mean 126.5 would be a change.
    const { f, changedAt } = run({ ...STILL, slack: 0.5, threshold: 1.2, minRunWindows: 1 }, 100, [120, 133]);
    expect(changedAt).toEqual([]);
    expect(f.rate(0)).toBeCloseTo(100, 6);
  });

  it('smooths by 1 − 2^(−window / half-life) and starts an unseeded series at its first window', () => {
    const f = createDemandForecaster({ series: 2, halfLifeMs: 1000 });
    f.seed(0, 10);
    f.record(0, 6);
    f.record(1, 7);
    // series 0: z = (6 − 5)/√5 < slack: no run; weight 1 − 2^(−½) → 10 + 0.2929 × (12 − 10)
    const report = f.closeWindow(500);
    expect(report).toEqual({ changed: [], windowMs: 500 });
    expect(f.rate(0)).toBeCloseTo(10 + (1 - 2 ** -0.5) * 2, 12);
    expect(f.rate(1)).toBe(14);
    const rates = f.rates();
    expect([...rates]).toEqual([f.rate(0), 14]);
    rates[1] = 99;
    expect(f.rate(1)).toBe(14);
    expect(f.stats()).toEqual({ windows: 1, changes: 0 });
  });

  it('a window of no length (or going back) changes nothing and is not counted', () => {
    const f = createDemandForecaster({ series: 1 });
    f.seed(0, 10);
    f.record(0, 50);
    expect(f.closeWindow(0)).toEqual({ changed: [], windowMs: 0 });
    f.closeWindow(1000);
    expect(f.closeWindow(500)).toEqual({ changed: [], windowMs: 0 });
    expect(f.stats()).toEqual({ windows: 1, changes: 0 });
  });

  it('rejects each option outside its range, naming it, and accepts the bounds', () => {
    const bad: [Partial<ForecastOptions>, string][] = [
      [{ series: -1 }, 'series'],
      [{ series: 1.5 }, 'series'],
      [{ halfLifeMs: 0 }, 'halfLifeMs'],
      [{ slack: -0.1 }, 'slack'],
      [{ threshold: 0 }, 'threshold'],
      [{ minExpected: 0 }, 'minExpected'],
      [{ minRelativeChange: -0.1 }, 'minRelativeChange'],
      [{ minRunWindows: 0 }, 'minRunWindows'],
      [{ minRunWindows: 1.5 }, 'minRunWindows'],
    ];
    for (const [o, field] of bad) {
      expect(() => createDemandForecaster({ series: 1, ...o }), field).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS', details: expect.objectContaining({ field }) }));
    }
    expect(() => createDemandForecaster({ series: 0, slack: 0, minRelativeChange: 0, minRunWindows: 1 })).not.toThrow();
  });

  it('rejects a series outside [0, series) and a rate that is negative or not finite', () => {
    const f = createDemandForecaster({ series: 2 });
    for (const i of [-1, 2, 0.5]) {
      expect(() => f.record(i), String(i)).toThrow(expect.objectContaining({ details: expect.objectContaining({ field: 'series', expected: 'an integer in [0, 2)' }) }));
    }
    expect(() => f.rate(1)).not.toThrow();
    for (const r of [-1, Number.POSITIVE_INFINITY, Number.NaN]) {
      expect(() => f.seed(0, r), String(r)).toThrow(expect.objectContaining({ details: expect.objectContaining({ field: 'ratePerSec' }) }));
    }
    expect(() => f.seed(0, 0)).not.toThrow();
  });
});

import { describe, expect, it } from 'vitest';
import { isEparaError } from '../errors/epara-error.js';
import { DEFAULT_LATENCY_GUARD_OPTIONS, LatencyGuard, resolveLatencyGuardOptions, type LatencyGuardOptions } from './latency-guard.js';

function rejected(options: Partial<LatencyGuardOptions>): unknown {
  try {
    resolveLatencyGuardOptions(options);
  } catch (e) {
    return isEparaError(e) && e.code === 'INVALID_OPTIONS' ? e.details?.['field'] : e;
  }
  return undefined;
}

describe('resolveLatencyGuardOptions', () => {
  it('fills the documented defaults and freezes the result', () => {
    const o = resolveLatencyGuardOptions();
    expect(o).toEqual({ window: 128, quantile: 0.98, maxAgeMs: 2000, minSamples: 8, minClassSamples: 16, maxExcessMs: 1000 });
    expect(Object.isFrozen(o)).toBe(true);
    expect(DEFAULT_LATENCY_GUARD_OPTIONS).toEqual(o);
  });

  it('accepts each bound itself and names the field of each value just outside it', () => {
    expect(resolveLatencyGuardOptions({ window: 1, quantile: 0, maxAgeMs: 0.001, minSamples: 0, minClassSamples: 0, maxExcessMs: 0 })).toMatchObject({ window: 1, quantile: 0 });
    expect(resolveLatencyGuardOptions({ quantile: 1 }).quantile).toBe(1);
    expect(rejected({ window: 0 })).toBe('window');
    expect(rejected({ window: 2.5 })).toBe('window');
    expect(rejected({ quantile: -0.01 })).toBe('quantile');
    expect(rejected({ quantile: 1.01 })).toBe('quantile');
    expect(rejected({ maxAgeMs: 0 })).toBe('maxAgeMs');
    expect(rejected({ maxAgeMs: Number.NaN })).toBe('maxAgeMs');
    expect(rejected({ minSamples: -1 })).toBe('minSamples');
    expect(rejected({ minSamples: 1.5 })).toBe('minSamples');
    expect(rejected({ minClassSamples: 0.5 })).toBe('minClassSamples');
    expect(rejected({ maxExcessMs: -1 })).toBe('maxExcessMs');
  });
});

describe('LatencyGuard edges', () => {
  it('answers 0 with nothing observed, even when no sample is required', () => {
    const g = new LatencyGuard({ minSamples: 0, minClassSamples: 0 });
    expect(g.excessMs(1, 0)).toBe(0);
    expect(g.samples(0)).toBe(0);
  });

  it('uses a class from exactly minClassSamples on, and all sizes from exactly minSamples on', () => {
    const g = new LatencyGuard({ quantile: 0, minSamples: 3, minClassSamples: 2 });
    g.observe({ n: 8, predictedMs: 10, actualMs: 40, at: 0 }); // class 8–15: +30
    g.observe({ n: 1, predictedMs: 10, actualMs: 15, at: 0 }); // class 1: +5
    expect(g.excessMs(8, 0)).toBe(0); // 2 over all sizes < 3, 1 in the class < 2
    g.observe({ n: 1, predictedMs: 10, actualMs: 15, at: 0 });
    expect(g.excessMs(1, 0)).toBe(5); // the class has its 2
    expect(g.excessMs(9, 0)).toBe(5); // class 8–15 has 1: all sizes (3) answer, their smallest is 5
    expect(g.excessMs(4, 0)).toBe(5); // class 4–7 never seen
    g.observe({ n: 15, predictedMs: 10, actualMs: 40, at: 0 });
    expect(g.excessMs(8, 0)).toBe(30);
  });

  it('puts sizes into power-of-two classes: 2 and 3 together, 4 apart; 0 with 1', () => {
    const g = new LatencyGuard({ quantile: 0, minSamples: 100, minClassSamples: 1 });
    g.observe({ n: 3, predictedMs: 1, actualMs: 8, at: 0 });
    g.observe({ n: 4, predictedMs: 1, actualMs: 21, at: 0 });
    g.observe({ n: 0, predictedMs: 1, actualMs: 3, at: 0 });
    expect(g.excessMs(2, 0)).toBe(7);
    expect(g.excessMs(3, 0)).toBe(7);
    expect(g.excessMs(7, 0)).toBe(20);
    expect(g.excessMs(1, 0)).toBe(2);
    expect(g.excessMs(8, 0)).toBe(0); // no class of its own, and too few over all sizes
  });

  it('never answers the single largest of several, answers a single observation, and clamps to 0…maxExcessMs', () => {
    const g = new LatencyGuard({ quantile: 1, minSamples: 1, minClassSamples: 1, maxExcessMs: 25 });
    g.observe({ n: 1, predictedMs: 1, actualMs: 11, at: 0 });
    expect(g.excessMs(1, 0)).toBe(10);
    g.observe({ n: 1, predictedMs: 1, actualMs: 101, at: 0 });
    expect(g.excessMs(1, 0)).toBe(10); // second largest of two
    g.observe({ n: 1, predictedMs: 1, actualMs: 51, at: 0 });
    expect(g.excessMs(1, 0)).toBe(25); // 50, capped
    const early = new LatencyGuard({ quantile: 1, minSamples: 1, minClassSamples: 1 });
    early.observe({ n: 1, predictedMs: 10, actualMs: 4, at: 0 });
    expect(early.excessMs(1, 0)).toBe(0);
    // A quantile outside [0, 1] asked of quantileMs is clamped into it.
    expect(g.quantileMs(1, 0, 5)).toBe(25);
    expect(g.quantileMs(1, 0, -3)).toBe(10);
  });

  it('sorts excesses as numbers, not as text', () => {
    const g = new LatencyGuard({ quantile: 0, minSamples: 1, minClassSamples: 1 });
    for (const ms of [100, 9, 20]) g.observe({ n: 1, predictedMs: 0, actualMs: ms, at: 0 });
    expect(g.excessMs(1, 0)).toBe(9);
    expect(g.quantileMs(1, 0, 0.5)).toBe(20);
  });

  it('counts an observation exactly maxAgeMs old, and refreshes when the oldest counted one ages out', () => {
    const g = new LatencyGuard({ quantile: 1, minSamples: 1, minClassSamples: 1, maxAgeMs: 100 });
    g.observe({ n: 1, predictedMs: 0, actualMs: 50, at: 0 });
    g.observe({ n: 1, predictedMs: 0, actualMs: 60, at: 0 });
    g.observe({ n: 1, predictedMs: 0, actualMs: 5, at: 60 });
    g.observe({ n: 1, predictedMs: 0, actualMs: 7, at: 60 });
    expect(g.samples(100)).toBe(4);
    expect(g.excessMs(1, 100)).toBe(50); // 5, 7, 50, 60: never the largest
    expect(g.samples(101)).toBe(2);
    expect(g.excessMs(1, 101)).toBe(5); // the two at 0 aged out; of 5 and 7, not the largest
    expect(g.excessMs(1, 160)).toBe(5);
    expect(g.excessMs(1, 161)).toBe(0);
    expect(g.samples(161)).toBe(0);
  });

  it('keeps the last window observations per class and over all sizes', () => {
    const g = new LatencyGuard({ window: 2, quantile: 0, minSamples: 1, minClassSamples: 1 });
    g.observe({ n: 1, predictedMs: 0, actualMs: 1, at: 0 });
    g.observe({ n: 1, predictedMs: 0, actualMs: 9, at: 0 });
    g.observe({ n: 1, predictedMs: 0, actualMs: 8, at: 0 }); // the 1 leaves the window
    expect(g.excessMs(1, 0)).toBe(8);
    expect(g.samples(0)).toBe(2);
  });

  it('ignores an observation with a non-finite time', () => {
    const g = new LatencyGuard({ minSamples: 1, minClassSamples: 1 });
    g.observe({ n: 1, predictedMs: 1, actualMs: 5, at: Number.NaN });
    g.observe({ n: 1, predictedMs: 1, actualMs: Number.POSITIVE_INFINITY, at: 0 });
    expect(g.samples(0)).toBe(0);
    expect(g.excessMs(1, 0)).toBe(0);
  });
});

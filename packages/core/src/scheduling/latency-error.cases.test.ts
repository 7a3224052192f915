import { describe, expect, it } from 'vitest';
import { isEparaError } from '../errors/epara-error.js';
import { DEFAULT_LATENCY_ERROR_OPTIONS, LatencyErrorTracker, resolveLatencyErrorOptions, type LatencyErrorOptions } from './latency-error.js';

/** The field an `INVALID_OPTIONS` error names, or what else was thrown. */
function rejected(options: Partial<LatencyErrorOptions>): unknown {
  try {
    resolveLatencyErrorOptions(options);
  } catch (e) {
    return isEparaError(e) && e.code === 'INVALID_OPTIONS' ? e.details?.['field'] : e;
  }
  return undefined;
}

describe('resolveLatencyErrorOptions', () => {
  it('fills the documented defaults and freezes the result', () => {
    const o = resolveLatencyErrorOptions();
    expect(o).toEqual({ window: 64, quantile: 0.9, minFactor: 1, maxFactor: 4, minSamples: 8, maxExcessMs: 1000 });
    expect(Object.isFrozen(o)).toBe(true);
    expect(resolveLatencyErrorOptions({ quantile: 0.5 }).quantile).toBe(0.5);
    expect(DEFAULT_LATENCY_ERROR_OPTIONS.window).toBe(64);
  });

  it('accepts each bound itself and names the field of each value just outside it', () => {
    expect(resolveLatencyErrorOptions({ window: 1, quantile: 0, minFactor: 2, maxFactor: 2, minSamples: 0, maxExcessMs: 0 })).toMatchObject({ window: 1, quantile: 0, maxFactor: 2 });
    expect(resolveLatencyErrorOptions({ quantile: 1 }).quantile).toBe(1);
    expect(rejected({ window: 0 })).toBe('window');
    expect(rejected({ window: 1.5 })).toBe('window');
    expect(rejected({ quantile: -0.01 })).toBe('quantile');
    expect(rejected({ quantile: 1.01 })).toBe('quantile');
    expect(rejected({ quantile: Number.NaN })).toBe('quantile');
    expect(rejected({ minFactor: 0 })).toBe('minFactor');
    expect(rejected({ minFactor: Number.POSITIVE_INFINITY, maxFactor: Number.POSITIVE_INFINITY })).toBe('minFactor');
    expect(rejected({ minFactor: 2, maxFactor: 1.99 })).toBe('maxFactor');
    expect(rejected({ minSamples: -1 })).toBe('minSamples');
    expect(rejected({ minSamples: 0.5 })).toBe('minSamples');
    expect(rejected({ maxExcessMs: -0.001 })).toBe('maxExcessMs');
    expect(rejected({ maxExcessMs: Number.NaN })).toBe('maxExcessMs');
  });
});

describe('LatencyErrorTracker edges', () => {
  it('ignores infinite or negative runs and non-positive predictions; a run of 0 ms counts', () => {
    const t = new LatencyErrorTracker({ minSamples: 1 });
    t.observe(10, Number.POSITIVE_INFINITY);
    t.observe(Number.POSITIVE_INFINITY, 5);
    t.observe(10, -1);
    t.observe(-5, 10);
    expect(t.samples).toBe(0);
    t.observe(10, 0);
    expect(t.samples).toBe(1);
    expect(t.factor).toBe(1); // 0 / 10 clamped up to minFactor
    expect(t.excessMs).toBe(0); // −10 clamped up to 0
  });

  it('answers minFactor and 0 ms with nothing observed, even when minSamples is 0', () => {
    const t = new LatencyErrorTracker({ minSamples: 0, minFactor: 1.5, maxFactor: 3 });
    expect(t.factor).toBe(1.5);
    expect(t.excessMs).toBe(0);
    t.observe(10, 12); // 1.2 is below minFactor
    expect(t.factor).toBe(1.5);
    expect(t.excessMs).toBe(2);
  });

  it('uses what it learned from exactly minSamples observations on, and caps the excess at maxExcessMs', () => {
    const t = new LatencyErrorTracker({ minSamples: 3, quantile: 0, maxExcessMs: 50 });
    t.observe(10, 20);
    t.observe(10, 20);
    expect(t.factor).toBe(1);
    expect(t.excessMs).toBe(0);
    t.observe(10, 20);
    expect(t.factor).toBe(2);
    expect(t.excessMs).toBe(10);
    const big = new LatencyErrorTracker({ minSamples: 1, maxExcessMs: 50 });
    big.observe(10, 500);
    expect(big.excessMs).toBe(50);
    expect(big.factor).toBe(4); // maxFactor's default
  });

  it('forgets the oldest observation once the window is full, equal values included', () => {
    const t = new LatencyErrorTracker({ window: 3, quantile: 1, minSamples: 1, maxFactor: 100 });
    t.observe(1, 9); // ratio 9, the largest: pushed out below
    t.observe(1, 2);
    t.observe(1, 2);
    expect(t.factor).toBe(9);
    t.observe(1, 3);
    expect(t.samples).toBe(3);
    expect(t.factor).toBe(3);
    t.observe(1, 1); // pushes out one of the equal 2s: 3 stays the largest
    t.observe(1, 1); // pushes out the other 2
    expect(t.factor).toBe(3);
    t.observe(1, 1); // pushes out the 3
    expect(t.factor).toBe(1);
    expect(t.excessMs).toBe(0);
  });
});

describe('LatencyErrorTracker predictions of 0 ms', () => {
  it('ignores a prediction of exactly 0 (its ratio is infinite)', () => {
    const t = new LatencyErrorTracker({ minSamples: 1, maxFactor: 10 });
    t.observe(0, 5);
    expect(t.samples).toBe(0);
    expect(t.factor).toBe(1);
  });
});

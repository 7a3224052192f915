import { describe, expect, it } from 'vitest';
import { isEparaError } from '../errors/epara-error.js';
import { LatencyGuard, resolveLatencyGuardOptions } from './latency-guard.js';

describe('LatencyGuard', () => {
  it('answers 0 until it has seen enough batches, then a high quantile of actual − predicted over all sizes', () => {
    const g = new LatencyGuard({ window: 10, quantile: 0.9, minSamples: 5, minClassSamples: 100 });
    for (let i = 0; i < 4; i++) g.observe({ n: 4, predictedMs: 10, actualMs: 30, at: 0 });
    expect(g.excessMs(4, 0)).toBe(0);
    for (let i = 1; i <= 10; i++) g.observe({ n: i % 2 ? 1 : 8, predictedMs: 10, actualMs: 10 + i, at: i }); // excesses 1 … 10
    expect(g.excessMs(1, 10)).toBeCloseTo(9); // never the single largest of 10
    expect(g.excessMs(32, 10)).toBeCloseTo(9);
    expect(g.samples(10)).toBe(10);
  });

  it('uses a size class of its own once it has enough samples: large batches overrun by more', () => {
    const g = new LatencyGuard({ window: 32, quantile: 0.9, minSamples: 4, minClassSamples: 8 });
    for (let i = 0; i < 16; i++) {
      g.observe({ n: 1, predictedMs: 2, actualMs: 2.5, at: i }); // singles: +0.5 ms
      g.observe({ n: 16, predictedMs: 30, actualMs: 38, at: i }); // batches of 16–31: +8 ms
    }
    expect(g.excessMs(1, 16)).toBeCloseTo(0.5);
    expect(g.excessMs(20, 16)).toBeCloseTo(8);
    // Batches of 4–7 were never seen: the quantile over all sizes stands in.
    expect(g.excessMs(5, 16)).toBeCloseTo(8);
  });

  it('forgets a stall once newer batches push it out of the window, or once it ages out with nothing running', () => {
    const g = new LatencyGuard({ window: 8, quantile: 1, minSamples: 1, minClassSamples: 1, maxAgeMs: 1000 });
    g.observe({ n: 2, predictedMs: 5, actualMs: 105, at: 0 });
    g.observe({ n: 2, predictedMs: 5, actualMs: 105, at: 0 });
    expect(g.excessMs(2, 0)).toBeCloseTo(100);
    // Nothing ran since: after maxAgeMs the margin it taught is gone (the stall cannot reject work forever).
    expect(g.excessMs(2, 999)).toBeCloseTo(100);
    expect(g.excessMs(2, 1001)).toBe(0);
    g.observe({ n: 2, predictedMs: 5, actualMs: 105, at: 2000 });
    for (let i = 0; i < 8; i++) g.observe({ n: 2, predictedMs: 5, actualMs: 6, at: 2001 + i });
    expect(g.excessMs(2, 2010)).toBeCloseTo(1);
  });

  it('answers any quantile from the same window: the median says how late a batch typically ends', () => {
    const g = new LatencyGuard({ window: 32, quantile: 0.98, minSamples: 4, minClassSamples: 8 });
    // Twenty singles: most end 20 ms late (a host that sees completions late), two on time.
    for (let i = 0; i < 20; i++) g.observe({ n: 1, predictedMs: 2, actualMs: i < 2 ? 2 : 22 + (i % 3), at: i });
    expect(g.quantileMs(1, 20, 0.5)).toBeCloseTo(21);
    expect(g.quantileMs(1, 20, 0)).toBe(0);
    expect(g.excessMs(1, 20)).toBe(g.quantileMs(1, 20, 0.98));
    expect(g.excessMs(1, 20)).toBeCloseTo(22);
    // A later observation refreshes the answer for every quantile.
    for (let i = 0; i < 30; i++) g.observe({ n: 1, predictedMs: 2, actualMs: 2.5, at: 21 + i });
    expect(g.quantileMs(1, 51, 0.5)).toBeCloseTo(0.5);
  });

  it('ignores non-finite observations and validates its options', () => {
    const g = new LatencyGuard({ minSamples: 1, minClassSamples: 1 });
    g.observe({ n: 1, predictedMs: Number.NaN, actualMs: 3, at: 0 });
    expect(g.samples(0)).toBe(0);
    // One stall among a few batches does not set the margin alone.
    for (const ms of [1, 1, 1, 50]) g.observe({ n: 1, predictedMs: 1, actualMs: 1 + ms, at: 0 });
    expect(g.excessMs(1, 0)).toBeCloseTo(1);
    expect(() => resolveLatencyGuardOptions({ minClassSamples: -1 })).toThrow(/minClassSamples/);
    try {
      resolveLatencyGuardOptions({ quantile: 3 });
      expect.unreachable();
    } catch (e) {
      expect(isEparaError(e) && e.code).toBe('INVALID_OPTIONS');
    }
  });
});

describe('LatencyGuard at the age limit', () => {
  it('counts an observation exactly maxAgeMs old, and forgets it a moment later', () => {
    const g = new LatencyGuard({ window: 2, quantile: 0, minSamples: 1, minClassSamples: 100, maxAgeMs: 20 });
    g.observe({ n: 1, predictedMs: 0, actualMs: 5, at: 0 });
    g.observe({ n: 1, predictedMs: 0, actualMs: 7, at: 10 });
    expect(g.excessMs(1, 20)).toBe(5); // both count: the one at 0 is exactly 20 ms old
    g.observe({ n: 1, predictedMs: 0, actualMs: 3, at: 30 }); // the one at 0 leaves the window
    expect(g.excessMs(1, 40)).toBe(3); // the one at 10 is past the limit
    expect(g.excessMs(1, 50)).toBe(3); // the one at 30 is exactly 20 ms old
    expect(g.excessMs(1, 50.5)).toBe(0);
    expect(g.excessMs(1, 45)).toBe(0); // the past is not asked again once forgotten (the window moves forward)
  });
});

import { describe, expect, it } from 'vitest';
import { isEparaError } from '../errors/epara-error.js';
import { LatencyErrorTracker, resolveLatencyErrorOptions } from './latency-error.js';

describe('LatencyErrorTracker', () => {
  it('answers 1 until it has seen enough batches, then a high quantile of actual/predicted', () => {
    const t = new LatencyErrorTracker({ window: 10, quantile: 0.9, minSamples: 5 });
    for (let i = 0; i < 4; i++) t.observe(10, 20);
    expect(t.factor).toBe(1);
    for (let i = 1; i <= 10; i++) t.observe(10, 10 + i); // ratios 1.1 … 2.0
    expect(t.factor).toBeCloseTo(2.0);
    expect(t.excessMs).toBeCloseTo(10);
    expect(t.samples).toBe(10);
  });

  it('never deflates below minFactor nor exceeds maxFactor, and ignores nonsense', () => {
    const t = new LatencyErrorTracker({ minSamples: 1, maxFactor: 3 });
    t.observe(10, 5);
    expect(t.factor).toBe(1);
    expect(t.excessMs).toBe(0);
    t.observe(1, 100);
    t.observe(Number.NaN, 1);
    t.observe(0, 1);
    expect(t.factor).toBe(3);
  });

  it('validates its options', () => {
    expect(() => resolveLatencyErrorOptions({ quantile: 2 })).toThrow(/quantile/);
    try {
      resolveLatencyErrorOptions({ window: 0 });
    } catch (e) {
      expect(isEparaError(e) && e.code).toBe('INVALID_OPTIONS');
    }
  });
});

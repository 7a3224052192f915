import fc from 'fast-check';
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

  it('answers exactly the quantile a sort of the last `window` observations gives (sorted windows kept in step)', () => {
    const obs = fc.tuple(fc.double({ min: 0.01, max: 100, noNaN: true }), fc.double({ min: 0, max: 400, noNaN: true }));
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.double({ min: 0, max: 1, noNaN: true }), fc.array(obs, { maxLength: 60 }), (window, quantile, xs) => {
        const t = new LatencyErrorTracker({ window, quantile, minSamples: 1, maxFactor: 1e9, maxExcessMs: 1e9 });
        xs.forEach(([predicted, actual], i) => {
          t.observe(predicted, actual);
          const last = xs.slice(Math.max(0, i + 1 - window), i + 1);
          const at = (values: number[]): number => values.sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(quantile * values.length))]!;
          expect(t.factor).toBe(Math.max(1, at(last.map(([p, a]) => a / p))));
          expect(t.excessMs).toBe(Math.max(0, at(last.map(([p, a]) => a - p))));
        });
      }),
      { seed: 20261204, numRuns: 200 },
    );
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

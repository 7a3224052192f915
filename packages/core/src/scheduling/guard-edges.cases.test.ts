import { describe, expect, it } from 'vitest';
import { LatencyGuard } from './latency-guard.js';
import { insertSorted } from './sorted-prefix.js';

// Two promises of the latency guard's parts at their edges: a batch of `n` falls in size class ⌊log2 n⌋ whatever
// `n` is (a fractional size too), and a sorted insertion goes after the values equal to it.

describe('LatencyGuard size classes', () => {
  /** One observation per class is enough to answer from it; with one sample the quantile is that sample. */
  const guard = (): LatencyGuard => {
    const g = new LatencyGuard({ minSamples: 1, minClassSamples: 1, quantile: 0.5 });
    g.observe({ n: 1, predictedMs: 10, actualMs: 11, at: 0 }); // class 0 (n = 1): +1 ms
    g.observe({ n: 2, predictedMs: 10, actualMs: 15, at: 0 }); // class 1 (n = 2, 3): +5 ms
    g.observe({ n: 4, predictedMs: 10, actualMs: 19, at: 0 }); // class 2 (n = 4…7): +9 ms
    return g;
  };

  it('answers a batch of n from class ⌊log2 n⌋, integer or not', () => {
    const g = guard();
    expect([1, 2, 3, 4, 7].map((n) => g.excessMs(n, 0))).toEqual([1, 5, 5, 9, 9]);
    expect([1.5, 2.5, 3.99, 4.5].map((n) => g.excessMs(n, 0))).toEqual([1, 5, 5, 9]);
  });

  it('puts a size below 1 in the first class', () => {
    expect(guard().excessMs(0.5, 0)).toBe(1);
  });
});

describe('insertSorted', () => {
  it('inserts after the values equal to it: a -0 after a +0, a +0 after a -0', () => {
    const a = new Float64Array(2);
    const n = insertSorted(a, insertSorted(a, 0, 0), -0);
    expect(n).toBe(2);
    expect([Object.is(a[0], 0), Object.is(a[1], -0)]).toEqual([true, true]);
    const b = new Float64Array(2);
    insertSorted(b, insertSorted(b, 0, -0), 0);
    expect([Object.is(b[0], -0), Object.is(b[1], 0)]).toEqual([true, true]);
  });
});

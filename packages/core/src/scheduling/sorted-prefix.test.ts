import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { insertSorted, removeSorted, replaceSorted } from './sorted-prefix.js';

const RUNS = { numRuns: Number(process.env.FC_RUNS ?? 300), seed: Number(process.env.FC_SEED ?? 20261205) };

/** Values with many repeats and both zeros, so that ties and `-0` among `+0` are exercised. */
const valueArb = fc.oneof(fc.integer({ min: -4, max: 4 }), fc.constantFrom(-0, 0.5, -2.5), fc.double({ min: -1e3, max: 1e3, noNaN: true }));

function sortedPrefix(values: readonly number[], spare: number): { a: Float64Array; n: number } {
  const a = new Float64Array(values.length + spare);
  let n = 0;
  for (const v of values) n = insertSorted(a, n, v);
  return { a, n };
}

/** Same numbers in the same slots (a zero's sign aside: `-0` and `+0` compare equal, as in a sort). */
function same(x: Float64Array, y: Float64Array): boolean {
  return x.every((v, i) => v === y[i]);
}

describe('sorted prefix', () => {
  it('insertSorted keeps the prefix ascending and removeSorted takes one equal value out', () => {
    const { a, n } = sortedPrefix([3, 1, 2, 2, -1], 1);
    expect([...a.subarray(0, n)]).toEqual([-1, 1, 2, 2, 3]);
    const m = removeSorted(a, n, 2);
    expect([...a.subarray(0, m)]).toEqual([-1, 1, 2, 3]);
  });

  it('replaceSorted leaves the same numbers as removeSorted then insertSorted', () => {
    fc.assert(
      fc.property(fc.array(valueArb, { minLength: 1, maxLength: 80 }), fc.nat(), valueArb, (values, pick, x) => {
        const { a, n } = sortedPrefix(values, 0);
        const old = a[pick % n]!;
        const twoSteps = a.slice();
        insertSorted(twoSteps, removeSorted(twoSteps, n, old), x);
        replaceSorted(a, n, old, x);
        expect(same(a, twoSteps)).toBe(true);
      }),
      RUNS,
    );
  });

  it('replaceSorted moves a value to either end', () => {
    const { a, n } = sortedPrefix([1, 2, 3, 4], 0);
    replaceSorted(a, n, 1, 9);
    expect([...a]).toEqual([2, 3, 4, 9]);
    replaceSorted(a, n, 9, -9);
    expect([...a]).toEqual([-9, 2, 3, 4]);
    replaceSorted(a, n, 3, 3);
    expect([...a]).toEqual([-9, 2, 3, 4]);
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { affineProfile, createProfile, fitProfile, latencyAt, scaleProfile, throughputAt } from './latency-profile.js';
import { invalidField } from '../testing/invalid-field.js';

/** Piecewise-linear reference written from the documented rule, by a linear scan. */
function reference(points: readonly { batch: number; ms: number }[], b: number): number {
  if (b <= points[0]!.batch) return points[0]!.ms;
  const last = points[points.length - 1]!;
  if (b >= last.batch) {
    if (points.length === 1) return (last.ms * b) / last.batch;
    const prev = points[points.length - 2]!;
    return last.ms + ((last.ms - prev.ms) / (last.batch - prev.batch)) * (b - last.batch);
  }
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1]!;
    const c = points[i]!;
    if (b <= c.batch) return a.ms + ((c.ms - a.ms) * (b - a.batch)) / (c.batch - a.batch);
  }
  throw new Error('unreachable');
}

describe('latencyAt against a linear-scan reference', () => {
  it('interpolates, holds and extrapolates as the rule says, for any profile (property)', () => {
    const pointsArb = fc.uniqueArray(fc.integer({ min: 1, max: 200 }), { minLength: 1, maxLength: 12 }).chain((batches) =>
      fc.tuple(fc.constant(batches), fc.array(fc.double({ min: 0.01, max: 50, noNaN: true }), { minLength: batches.length, maxLength: batches.length })),
    );
    fc.assert(
      fc.property(pointsArb, fc.double({ min: 0.01, max: 400, noNaN: true }), ([batches, ms], b) => {
        const p = createProfile('k', batches.map((batch, i) => ({ batch, ms: ms[i]! })));
        expect(latencyAt(p, b)).toBeCloseTo(reference(p.points, b), 9);
      }),
    );
  });
});

describe('createProfile and fitProfile', () => {
  it('names the field of each malformed part, indexed in batch order', () => {
    expect(invalidField(() => createProfile(7 as never, [{ batch: 1, ms: 1 }]))).toBe('deviceKind');
    expect(invalidField(() => latencyAt(createProfile('k', [{ batch: 1, ms: 1 }]), -2))).toBe('batch');
    expect(invalidField(() => createProfile('k', 'fast' as never))).toBe('points');
    expect(invalidField(() => createProfile('k', []))).toBe('points');
    expect(invalidField(() => createProfile('k', [{ batch: 1, ms: 1 }, { batch: 0, ms: 1 }]))).toBe('points[0].batch');
    expect(invalidField(() => createProfile('k', [{ batch: 1.5, ms: 1 }]))).toBe('points[0].batch');
    expect(invalidField(() => createProfile('k', [{ batch: 1, ms: 0 }]))).toBe('points[0].ms');
    expect(invalidField(() => createProfile('k', [{ batch: 1, ms: 1 }, { batch: 2, ms: Number.POSITIVE_INFINITY }]))).toBe('points[1].ms');
    expect(invalidField(() => createProfile('k', [{ batch: 2, ms: 1 }, { batch: 1, ms: 1 }, { batch: 2, ms: 3 }]))).toBe('points[2].batch');
  });

  it('fits the median of an even count as the mean of the middle two, of an odd count the middle one', () => {
    const p = fitProfile('k', [
      { batch: 2, ms: 9 },
      { batch: 1, ms: 4 },
      { batch: 1, ms: 1 },
      { batch: 2, ms: 7 },
      { batch: 1, ms: 10 },
      { batch: 1, ms: 2 },
      { batch: 2, ms: 8 },
    ]);
    expect(p.points).toEqual([{ batch: 1, ms: 3 }, { batch: 2, ms: 8 }]);
  });
});

describe('scaleProfile, affineProfile, throughputAt', () => {
  it('scales under a new kind name, and refuses an infinite or NaN factor', () => {
    const p = affineProfile('k', { fixedMs: 1, perItemMs: 1, maxBatch: 2 });
    expect(scaleProfile(p, 1.5, 'slow')).toEqual({ deviceKind: 'slow', points: [{ batch: 1, ms: 3 }, { batch: 2, ms: 4.5 }] });
    expect(scaleProfile(p, 2).deviceKind).toBe('k');
    expect(invalidField(() => scaleProfile(p, Number.POSITIVE_INFINITY))).toBe('factor');
    expect(invalidField(() => scaleProfile(p, Number.NaN))).toBe('factor');
  });

  it('samples up to 64 by default, and the last power of two within maxBatch', () => {
    expect(affineProfile('k', { fixedMs: 1, perItemMs: 1 }).points.map((x) => x.batch)).toEqual([1, 2, 4, 8, 16, 32, 64]);
    expect(affineProfile('k', { fixedMs: 1, perItemMs: 1, maxBatch: 12 }).points.map((x) => x.batch)).toEqual([1, 2, 4, 8]);
    expect(throughputAt(affineProfile('k', { fixedMs: 1, perItemMs: 1 }), 3)).toBe(750);
  });
});

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { affineProfile, createProfile, fitProfile, latencyAt, scaleProfile, throughputAt } from './latency-profile.js';

/** Fixed seed: the suite is deterministic (set FC_SEED to explore other cases). */
const SEED = Number(process.env.FC_SEED ?? 20251126);

const pointsArb = fc
  .uniqueArray(fc.integer({ min: 1, max: 128 }), { minLength: 1, maxLength: 8 })
  .chain((batches) => fc.tuple(fc.constant(batches), fc.array(fc.double({ min: 0.01, max: 100, noNaN: true }), { minLength: batches.length, maxLength: batches.length })))
  .map(([batches, ms]) => batches.map((batch, i) => ({ batch, ms: ms[i]! })));

describe('createProfile', () => {
  it('sorts points and flattens decreasing latencies to the running maximum', () => {
    const p = createProfile('k', [{ batch: 4, ms: 3 }, { batch: 1, ms: 2 }, { batch: 2, ms: 1.5 }]);
    expect(p.points).toEqual([{ batch: 1, ms: 2 }, { batch: 2, ms: 2 }, { batch: 4, ms: 3 }]);
  });

  it.each([
    [[], 'points'],
    [[{ batch: 0, ms: 1 }], 'points[0].batch'],
    [[{ batch: 1.5, ms: 1 }], 'points[0].batch'],
    [[{ batch: 1, ms: 0 }], 'points[0].ms'],
    [[{ batch: 1, ms: Number.NaN }], 'points[0].ms'],
    [[{ batch: 1, ms: 1 }, { batch: 1, ms: 2 }], 'points[1].batch'],
  ])('rejects invalid points %j naming %s', (points, field) => {
    expect(() => createProfile('k', points)).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS', details: expect.objectContaining({ field }) }));
  });

  it('rejects an empty device kind', () => {
    expect(() => createProfile('', [{ batch: 1, ms: 1 }])).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }));
  });
});

describe('latencyAt', () => {
  const p = createProfile('k', [{ batch: 1, ms: 10 }, { batch: 4, ms: 16 }, { batch: 8, ms: 24 }]);

  it('interpolates between points, holds the first value below, extrapolates the last slope above', () => {
    expect(latencyAt(p, 1)).toBe(10);
    expect(latencyAt(p, 2)).toBe(12);
    expect(latencyAt(p, 6)).toBe(20);
    expect(latencyAt(p, 0.5)).toBe(10);
    expect(latencyAt(p, 16)).toBe(40);
    expect(latencyAt(createProfile('k', [{ batch: 2, ms: 8 }]), 6)).toBe(24);
  });

  it('rejects a non-positive batch', () => {
    expect(() => latencyAt(p, 0)).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }));
  });

  it('is monotone non-decreasing in the batch for any valid profile', () => {
    fc.assert(
      fc.property(pointsArb, fc.integer({ min: 1, max: 300 }), fc.integer({ min: 0, max: 50 }), (points, b, delta) => {
        const profile = createProfile('k', points);
        return latencyAt(profile, b + delta) >= latencyAt(profile, b) - 1e-9;
      }),
      { seed: SEED },
    );
  });

  it('passes through every measured point', () => {
    fc.assert(
      fc.property(pointsArb, (points) => {
        const profile = createProfile('k', points);
        return profile.points.every((pt) => Math.abs(latencyAt(profile, pt.batch) - pt.ms) < 1e-9);
      }),
      { seed: SEED },
    );
  });
});

describe('fitProfile, throughputAt, scaleProfile, affineProfile', () => {
  it('fits the median per batch size, robust to an outlier', () => {
    const p = fitProfile('k', [
      { batch: 1, ms: 5 }, { batch: 1, ms: 6 }, { batch: 1, ms: 500 },
      { batch: 2, ms: 8 }, { batch: 2, ms: 9 },
    ]);
    expect(p.points).toEqual([{ batch: 1, ms: 6 }, { batch: 2, ms: 8.5 }]);
  });

  it('computes items per second', () => {
    expect(throughputAt(affineProfile('k', { fixedMs: 2, perItemMs: 2 }), 4)).toBe(400);
  });

  it('scales latencies and validates the factor', () => {
    const p = scaleProfile(affineProfile('k', { fixedMs: 1, perItemMs: 1, maxBatch: 2 }), 2, 'slow');
    expect(p).toEqual({ deviceKind: 'slow', points: [{ batch: 1, ms: 4 }, { batch: 2, ms: 6 }] });
    expect(() => scaleProfile(p, 0)).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }));
  });

  it('samples the affine model at powers of two', () => {
    expect(affineProfile('k', { fixedMs: 3, perItemMs: 1, maxBatch: 8 }).points.map((x) => x.batch)).toEqual([1, 2, 4, 8]);
  });
});

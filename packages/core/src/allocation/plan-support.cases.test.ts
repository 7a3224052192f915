import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { affineProfile, createProfile } from '../profiles/latency-profile.js';
import { finishPlan, type PlanCore } from './plan-outcome.js';
import { bestRateBatch, largestBatchWithin, rateAt, singleDeviceModel, type RunModel } from './plan-search.js';
import { batchCap, itemsThatFit, resolveStrategyOptions, usableMemoryBytes } from './strategy-options.js';
import { invalidField } from '../testing/invalid-field.js';

const core: PlanCore = {
  serviceId: 's',
  deviceKind: 'k',
  requestStrategy: 'batching',
  serviceStrategy: 'data-parallel',
  devices: 2,
  batchSize: 4,
  capacityPerSec: 100,
  memoryPerDeviceBytes: 10,
  expectedLatencyMs: 5,
  runMs: 3,
  notes: [],
};

describe('finishPlan', () => {
  it('serves min(demand, capacity) split over the devices, utilization capped at 1', () => {
    expect(finishPlan(core, 50)).toMatchObject({ goodputPerDevice: 25, utilization: 0.5 });
    expect(finishPlan(core, 300)).toMatchObject({ goodputPerDevice: 50, utilization: 1 });
  });

  it('counts a plan without capacity as fully used, whatever the demand', () => {
    expect(finishPlan({ ...core, capacityPerSec: 0 }, 0).utilization).toBe(1);
    expect(finishPlan({ ...core, capacityPerSec: 0 }, 10).utilization).toBe(1);
  });

  it('has a stages field only when the plan has stages', () => {
    expect('stages' in finishPlan(core, 1)).toBe(false);
    expect(finishPlan({ ...core, stages: 3 }, 1).stages).toBe(3);
  });
});

describe('bestRateBatch', () => {
  it('checks every size up to hi on a model without breakpoints, the one just below hi included', () => {
    // Rate 100 b/s up to 3, then it falls: the best is 3, just below hi = 4.
    const model: RunModel = { latencyMs: (b) => (b <= 3 ? 10 : 10 + 20 * (b - 3)), intervalMs: (b) => (b <= 3 ? 10 : 10 + 20 * (b - 3)) };
    expect(bestRateBatch(model, 4)).toBe(3);
    expect(bestRateBatch(model, 2)).toBe(2);
    expect(bestRateBatch(model, 1)).toBe(1);
  });

  it('never answers a breakpoint above hi', () => {
    const p = affineProfile('k', { fixedMs: 4, perItemMs: 1, maxBatch: 32 });
    const model = singleDeviceModel(p);
    expect(bestRateBatch(model, 3)).toBe(3);
    expect(bestRateBatch(model, 1)).toBe(1);
  });

  it('breaks ties, rounding included, toward the larger batch', () => {
    // 0.3 ms per item: b / (0.3 b) is the same rate for every b, up to the last bit of the division.
    const flat: RunModel = { latencyMs: (b) => 0.3 * b, intervalMs: (b) => 0.3 * b };
    expect(bestRateBatch(flat, 64)).toBe(64);
    expect(bestRateBatch(flat, 7)).toBe(7);
    expect(bestRateBatch(singleDeviceModel(affineProfile('k', { fixedMs: 0.3, perItemMs: 0.3, maxBatch: 64 })), 64)).toBe(64);
  });

  it('answers a size of the highest rate within [1, hi] (property, measured profiles)', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 10, noNaN: true }), { minLength: 1, maxLength: 6 }), fc.integer({ min: 1, max: 40 }), (steps, hi) => {
        let ms = 1;
        const p = createProfile('k', steps.map((s, i) => ({ batch: 2 ** i, ms: (ms += s) })));
        const model = singleDeviceModel(p);
        const b = bestRateBatch(model, hi);
        expect(b).toBeGreaterThanOrEqual(1);
        expect(b).toBeLessThanOrEqual(hi);
        for (let k = 1; k <= hi; k++) expect(rateAt(model, b)).toBeGreaterThanOrEqual(rateAt(model, k) * (1 - 1e-9));
      }),
    );
  });
});

describe('largestBatchWithin', () => {
  // A batch of b runs 10 + b ms; with k = 2 an item may wait one running batch: 2 (10 + b) ≤ D.
  const model: RunModel = { latencyMs: (b) => 10 + b, intervalMs: (b) => 10 + b };
  it('is 0 without room for one item or with a limit below 1, and counts a budget met exactly', () => {
    expect(largestBatchWithin(model, 21.9, 2, 8)).toBe(0);
    expect(largestBatchWithin(model, 22, 2, 8)).toBe(1);
    expect(largestBatchWithin(model, 30, 2, 8)).toBe(5);
    expect(largestBatchWithin(model, 1000, 2, 8)).toBe(8);
    expect(largestBatchWithin(model, 1000, 2, 0)).toBe(0);
  });
});

describe('resolveStrategyOptions bounds', () => {
  it('accepts each bound itself', () => {
    const o = resolveStrategyOptions({ reserveFraction: 0, profileExtrapolation: 1, maxBatch: 1, batchingWaitFactor: 1, modelParallelEfficiency: 1, commPerStageMs: 0, interferenceFactor: 1 });
    expect(o).toMatchObject({ reserveFraction: 0, profileExtrapolation: 1, maxBatch: 1 });
    expect(resolveStrategyOptions({ profileExtrapolation: Number.POSITIVE_INFINITY }).profileExtrapolation).toBe(Number.POSITIVE_INFINITY);
    // An explicitly undefined field keeps its default.
    expect(resolveStrategyOptions({ maxBatch: undefined }).maxBatch).toBe(256);
  });

  it('names the field just outside each bound, and options that are null or not an object', () => {
    expect(invalidField(() => resolveStrategyOptions({ profileExtrapolation: 0.99 }))).toBe('profileExtrapolation');
    expect(invalidField(() => resolveStrategyOptions({ profileExtrapolation: '2' as never }))).toBe('profileExtrapolation');
    expect(invalidField(() => resolveStrategyOptions({ reserveFraction: '0.1' as never }))).toBe('reserveFraction');
    expect(invalidField(() => resolveStrategyOptions({ reserveFraction: 0.999 }))).toBeUndefined();
    expect(invalidField(() => resolveStrategyOptions({ batchingWaitFactor: Number.POSITIVE_INFINITY }))).toBe('batchingWaitFactor');
    expect(invalidField(() => resolveStrategyOptions({ commPerStageMs: Number.POSITIVE_INFINITY }))).toBe('commPerStageMs');
    expect(invalidField(() => resolveStrategyOptions({ interferenceFactor: Number.POSITIVE_INFINITY }))).toBe('interferenceFactor');
    expect(invalidField(() => resolveStrategyOptions(null as never))).toBe('options');
    expect(invalidField(() => resolveStrategyOptions(7 as never))).toBe('options');
  });
});

describe('batchCap and usableMemoryBytes', () => {
  it('cap the batch at maxBatch and at profileExtrapolation × the largest measured batch, never below 1', () => {
    const p = createProfile('k', [{ batch: 1, ms: 1 }, { batch: 8, ms: 4 }]);
    expect(batchCap(p, resolveStrategyOptions())).toBe(8);
    expect(batchCap(p, resolveStrategyOptions({ profileExtrapolation: 2.6 }))).toBe(20);
    expect(batchCap(p, resolveStrategyOptions({ profileExtrapolation: 4, maxBatch: 16 }))).toBe(16);
    expect(usableMemoryBytes(1000, resolveStrategyOptions({ reserveFraction: 0.25 }))).toBe(750);
  });
});

describe('itemsThatFit', () => {
  it('steps back when the division overestimates: 40 items of 0.5122291595566801 exceed 20.489166382267204', () => {
    const usable = 20.489166382267204;
    const per = 0.5122291595566801;
    expect(40 * per > usable).toBe(true);
    expect(itemsThatFit(usable, 0, per, 100)).toBe(39);
  });

  it('is the largest b ≤ cap with weights + b·perItem ≤ usable (property)', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1e6, noNaN: true }), fc.double({ min: 0, max: 1e6, noNaN: true }), fc.double({ min: 1e-3, max: 1e4, noNaN: true }), fc.integer({ min: 1, max: 512 }), (usable, weights, per, cap) => {
        const b = itemsThatFit(usable, weights, per, cap);
        if (weights > usable) {
          expect(b).toBe(0);
          return;
        }
        expect(b).toBeLessThanOrEqual(cap);
        if (b > 0) expect(weights + b * per).toBeLessThanOrEqual(usable);
        if (b < cap) expect(weights + (b + 1) * per).toBeGreaterThan(usable);
      }),
    );
  });
});

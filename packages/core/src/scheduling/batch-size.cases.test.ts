import { describe, expect, it } from 'vitest';
import { singleDeviceModel } from '../allocation/plan-search.js';
import { affineProfile, createProfile } from '../profiles/latency-profile.js';
import { batchSizeForDeadline, chooseBatchSize, packSizeForRate } from './batch-size.js';
import { invalidField } from '../testing/invalid-field.js';

// Items per ms peak at 4 (1/1) and fall at 8 (8/10): throughput and size disagree.
const peaked = createProfile('k', [
  { batch: 1, ms: 2 },
  { batch: 2, ms: 3 },
  { batch: 4, ms: 4 },
  { batch: 8, ms: 10 },
]);

describe('chooseBatchSize', () => {
  it('takes the throughput-best size up to the largest that fits, or the largest itself', () => {
    const model = singleDeviceModel(peaked);
    // k = 1, budget 100: every size up to the limit 8 fits.
    expect(chooseBatchSize(model, 100, { limit: 8, waitFactor: 1, choice: 'throughput' })).toEqual({ batchSize: 4, largest: 8 });
    expect(chooseBatchSize(model, 100, { limit: 8, waitFactor: 1, choice: 'largest' })).toEqual({ batchSize: 8, largest: 8 });
    // k = 2: (2 − 1)·L(b) + L(b) ≤ 9 → L(b) ≤ 4.5 → b ≤ 4 (L(5) = 5.5).
    expect(chooseBatchSize(model, 9, { limit: 8, waitFactor: 2, choice: 'largest' })).toEqual({ batchSize: 4, largest: 4 });
  });

  it('answers 0 and 0 when not even one item fits the budget', () => {
    const model = singleDeviceModel(peaked);
    expect(chooseBatchSize(model, 1.9, { limit: 8, waitFactor: 1, choice: 'throughput' })).toEqual({ batchSize: 0, largest: 0 });
    expect(chooseBatchSize(model, 1.9, { limit: 8, waitFactor: 1, choice: 'largest' })).toEqual({ batchSize: 0, largest: 0 });
  });
});

describe('batchSizeForDeadline options', () => {
  it('honours the choice, and accepts a maxBatch and a waitFactor of exactly 1', () => {
    expect(batchSizeForDeadline(peaked, 100, { maxBatch: 8, waitFactor: 1 })).toBe(4);
    expect(batchSizeForDeadline(peaked, 100, { maxBatch: 8, waitFactor: 1, choice: 'largest' })).toBe(8);
    expect(batchSizeForDeadline(peaked, 100, { maxBatch: 1 })).toBe(1);
    expect(batchSizeForDeadline(peaked, 100, { maxBatch: 6.9, waitFactor: 1, choice: 'largest' })).toBe(6);
  });

  it('names maxBatch below 1 or not a number, and waitFactor below 1', () => {
    const p = affineProfile('k', { fixedMs: 2, perItemMs: 1, maxBatch: 32 });
    expect(invalidField(() => batchSizeForDeadline(p, 20, { maxBatch: 0.99 }))).toBe('maxBatch');
    expect(invalidField(() => batchSizeForDeadline(p, 20, { maxBatch: Number.NaN }))).toBe('maxBatch');
    expect(invalidField(() => batchSizeForDeadline(p, 20, { maxBatch: 8, waitFactor: 0.99 }))).toBe('waitFactor');
    expect(invalidField(() => batchSizeForDeadline(p, 20, { maxBatch: 8, waitFactor: Number.NaN }))).toBe('waitFactor');
  });
});

describe('packSizeForRate', () => {
  it('takes the largest fresh pack with choice max, and the best fresh throughput when the rate is out of reach', () => {
    const p = affineProfile('k', { fixedMs: 4, perItemMs: 1, maxBatch: 32 });
    // Keeps up from n = 4; fresh while (n − 1)·2 + 4 + n ≤ 100 → n ≤ 32 (the cap).
    expect(packSizeForRate(p, { rateHz: 500, stalenessMs: 100, maxBatch: 32, choice: 'max' })).toEqual({ n: 32, feasible: true });
    // 10 kHz is out of reach; the fresh packs are those with (n − 1)·0.1 + 4 + n ≤ 20 → n ≤ 14: the best rate is there.
    expect(packSizeForRate(p, { rateHz: 10_000, stalenessMs: 20, maxBatch: 32 })).toEqual({ n: 14, feasible: false });
    // Not even one item is fresh: a pack of 1.
    expect(packSizeForRate(p, { rateHz: 10_000, stalenessMs: 1, maxBatch: 32 })).toEqual({ n: 1, feasible: false });
  });
});

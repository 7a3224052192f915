import { describe, expect, it } from 'vitest';
import { backlogMs, estimateCompletion } from './completion-estimate.js';

const L = (n: number): number => 2 + n;

describe('estimateCompletion', () => {
  it('adds the full batches ahead, then its own batch, on one device', () => {
    // 9 queued at batch 4: two full batches (6 ms each) ahead, then a batch of 2 (4 ms) from t = 10.
    expect(estimateCompletion({ freeAt: [10], queued: 9, batchSize: 4, latencyMs: L })).toBe(10 + 12 + 4);
    expect(estimateCompletion({ freeAt: [10], queued: 0, batchSize: 4, latencyMs: L, slowdown: 2, costScale: 3 })).toBe(10 + 2 * 3 * 3);
  });

  it('spreads the batches ahead over the devices, earliest free first', () => {
    // Devices free at 0 and 5; 8 queued at batch 4: batches run at 0 and 5, own batch at 6 on device 0.
    expect(estimateCompletion({ freeAt: [0, 5], queued: 8, batchSize: 4, latencyMs: L })).toBe(6 + 3);
    expect(estimateCompletion({ freeAt: [], queued: 0, batchSize: 1, latencyMs: L })).toBe(Number.POSITIVE_INFINITY);
  });
});

describe('backlogMs', () => {
  it('counts whole batches, split over devices', () => {
    expect(backlogMs(0, 4, 6)).toBe(0);
    expect(backlogMs(5, 4, 6)).toBe(12);
    expect(backlogMs(5, 4, 6, 2)).toBe(6);
  });
});

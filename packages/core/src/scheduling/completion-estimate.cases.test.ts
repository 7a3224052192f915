import { describe, expect, it } from 'vitest';
import { backlogMs, estimateCompletion } from './completion-estimate.js';

const L = (n: number): number => 2 + n;

describe('estimateCompletion on several devices', () => {
  it('scales the own batch by its cost and the whole by the slowdown, on the device free first', () => {
    // Devices free at 7 and 3; nothing queued: own batch of 1 on device 1 (L = 3), × cost 2, × slowdown 1.5.
    expect(estimateCompletion({ freeAt: [7, 3], queued: 0, batchSize: 4, latencyMs: L, costScale: 2, slowdown: 1.5 })).toBe(3 + 1.5 * 3 * 2);
    // A slowdown below 1 is read as 1.
    expect(estimateCompletion({ freeAt: [7, 3], queued: 0, batchSize: 4, latencyMs: L, slowdown: 0.5 })).toBe(3 + 3);
  });

  it('passes each device its own index, and counts a fractional or negative queue as whole items ahead', () => {
    const perDevice = (n: number, device: number): number => (device === 0 ? 10 : 1) * n;
    // Both free at 0; 2 queued at batch 2: the full batch takes device 0 (ties to the first), own batch of 1 on device 1.
    expect(estimateCompletion({ freeAt: [0, 0], queued: 2, batchSize: 2, latencyMs: perDevice })).toBe(1);
    expect(estimateCompletion({ freeAt: [0, 0], queued: -3, batchSize: 2.9, latencyMs: perDevice })).toBe(10);
  });
});

describe('backlogMs edges', () => {
  it('reads a batch size or device count below 1 as 1', () => {
    expect(backlogMs(3, 0, 5)).toBe(15);
    expect(backlogMs(3, 1, 5, 0)).toBe(15);
    expect(backlogMs(-1, 1, 5)).toBe(0);
  });
});

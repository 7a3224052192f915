import { describe, expect, it } from 'vitest';
import { DEVICE_INPUT_SLAB_BYTES, detectorBatchBytes, largestDetectorBatchBytes } from './device-slabs.js';

describe('the input slab of an EPARA node’s device', () => {
  it('holds the largest batch the demo runs, inputs and outputs, and is a quarter of the runtime’s 8 MiB default', () => {
    // Four 160×160 images: 4 × 307,200 input bytes and 4 × 102,400 output bytes.
    expect(detectorBatchBytes(160, 4)).toBe(1_638_400);
    expect(largestDetectorBatchBytes()).toBe(1_638_400);
    expect(largestDetectorBatchBytes()).toBeLessThanOrEqual(DEVICE_INPUT_SLAB_BYTES);
    expect(DEVICE_INPUT_SLAB_BYTES).toBe((8 * 1024 * 1024) / 4);
  });
});

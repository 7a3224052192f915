import { describe, expect, it } from 'vitest';
import { sharingFactor } from './device-model.js';
import { sharedRunMs } from './launch.js';

describe('sharedRunMs', () => {
  it('is the work itself on an idle device', () => {
    expect(sharedRunMs(10, [], 0.25)).toBe(10);
  });
  it('follows processor sharing phase by phase as the other batches end', () => {
    // One other batch with 4 ms left, β = 0.25: both run at 1 / 2.5 until it ends (10 ms), then alone for 6 ms.
    expect(sharedRunMs(10, [4], 0.25)).toBeCloseTo(4 * sharingFactor(2, 0.25) + 6);
    // Two others with 2 and 20 ms left: three share until 2 is done, then two until this batch ends.
    expect(sharedRunMs(5, [2, 20], 0.25)).toBeCloseTo(2 * sharingFactor(3, 0.25) + 3 * sharingFactor(2, 0.25));
  });
  it('never predicts less than the exclusive work, nor more than the current share for the whole run', () => {
    for (const others of [[1], [3, 9], [0.5, 0.5, 40]]) {
      const t = sharedRunMs(8, others, 0.3);
      expect(t).toBeGreaterThanOrEqual(8);
      expect(t).toBeLessThanOrEqual(8 * sharingFactor(others.length + 1, 0.3) + 1e-9);
    }
  });
});

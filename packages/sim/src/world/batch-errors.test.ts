import { describe, expect, it } from 'vitest';
import { BatchErrors } from './batch-errors.js';

describe('BatchErrors', () => {
  it('with core\'s LatencyGuard: no factor, an additive margin per size class that ages out', () => {
    const e = new BatchErrors(true, true);
    expect(e.core).toBe(true);
    // Batches of one end 6 ms late, batches of 32 on time.
    for (let i = 0; i < 32; i++) {
      e.observe(1, 10, 16, 1000 + i);
      e.observe(32, 50, 50, 1000 + i);
    }
    expect(e.factor(1)).toBe(1);
    expect(e.excessMs(1, 1100)).toBe(6);
    expect(e.excessMs(32, 1100)).toBe(0);
    // Core's guard forgets observations after 2 s.
    expect(e.excessMs(1, 5000)).toBe(0);
  });

  it('with the tracker: a factor learned per size class', () => {
    const e = new BatchErrors(true);
    expect(e.core).toBe(false);
    for (let i = 0; i < 32; i++) e.observe(1, 10, 15);
    expect(e.factor(1)).toBeGreaterThan(1.4);
    expect(e.factor(32)).toBe(1);
  });
});

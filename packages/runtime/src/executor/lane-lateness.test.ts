import { describe, expect, it } from 'vitest';
import { createSeededRandom } from '@epara/core';
import { LaneLateness } from './lane-lateness.js';

describe('LaneLateness', () => {
  it('answers a margin asked again within a planning pass as when it was first asked, and anew after a batch ends', () => {
    // Integral sizes are memoized per size class and clock reading; a size of n + 0.5 has n's size class (the
    // same leading bit: the class is ⌊log₂ n⌋) but is never memoized, so it is the margin computed afresh.
    const random = createSeededRandom(5);
    const l = new LaneLateness();
    let now = 0;
    let compared = 0;
    let nonZero = 0;
    for (let step = 0; step < 400; step++) {
      now += random.next() < 0.3 ? 0 : random.next() * 20;
      if (random.next() < 0.5) {
        const n = 1 + Math.floor(random.next() * 32);
        const expectedMs = 1 + n * 0.7;
        l.observe({ n, expectedMs, plannedStart: now - expectedMs - random.next() * 6, end: now, runMs: expectedMs * (0.7 + random.next()), ahead: random.next() < 0.5 });
      }
      // One pass: shrinking a batch one item at a time from 32, then a second look at a few sizes, both device states.
      for (const ahead of [false, true]) {
        for (let n = 32; n >= 1; n--) {
          expect(l.marginMs(n, ahead, now)).toBe(l.marginMs(n + 0.5, ahead, now));
          compared++;
          if (l.marginMs(n, ahead, now) > 0) nonZero++;
        }
        for (const n of [3, 17, 1, 8]) expect(l.marginMs(n, ahead, now)).toBe(l.marginMs(n + 0.5, ahead, now));
      }
    }
    expect(compared).toBe(400 * 2 * 32);
    // The comparison was of learned margins, not of zeros before any were learned.
    expect(nonZero).toBeGreaterThan(compared / 2);
  });
});

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

  it("keeps the host-side delay's hostDelayQuantile in the margin, and its median in the typical lateness, whatever the quantile", () => {
    // 50 batches whose compute is exactly as predicted (no compute error) and whose outputs reach the host 1 ms
    // late, but 40 ms late one batch in ten (a host thread that stalls now and then): the 98th percentile of that
    // delay is 40 ms, its median 1 ms.
    const feed = (l: LaneLateness): void => {
      for (let i = 0; i < 50; i++) {
        const at = 10 * i;
        l.observe({ n: 4, expectedMs: 3, plannedStart: at, end: at + 3 + (i % 10 === 0 ? 40 : 1), runMs: 3, ahead: false });
      }
    };
    const byDefault = new LaneLateness();
    const median = new LaneLateness(0.5);
    feed(byDefault);
    feed(median);
    const now = 500;
    expect(byDefault.marginMs(4, false, now)).toBe(40);
    expect(median.marginMs(4, false, now)).toBe(1);
    // Every size: the host-side delay is one class over all sizes.
    expect(median.marginMs(17, false, now)).toBe(1);
    // The typical lateness (what rejects an item as likely late) is the median either way.
    expect(byDefault.typicalMs(1, false, now)).toBe(1);
    expect(median.typicalMs(1, false, now)).toBe(1);
  });

  it("keeps the compute error's 98th percentile whatever the host-side delay's quantile", () => {
    // Delivered at once (no host-side delay), compute 10 ms over the prediction one batch in ten, else on time.
    const l = new LaneLateness(0.5);
    for (let i = 0; i < 50; i++) {
      const at = 20 * i;
      const runMs = 3 + (i % 10 === 0 ? 10 : 0);
      l.observe({ n: 4, expectedMs: 3, plannedStart: at, end: at + runMs, runMs, ahead: false });
    }
    expect(l.marginMs(4, false, 1000)).toBe(10);
  });
});

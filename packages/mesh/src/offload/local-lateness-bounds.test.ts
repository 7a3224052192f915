import { describe, expect, it } from 'vitest';
import { LocalLateness } from './local-lateness.js';

/** One observation of `serviceId` per ratio: a real wait of `ratio` × the estimated `estimatedMs`, settled at `at`. */
function observe(l: LocalLateness, serviceId: string, o: { estimatedMs: number; ratios: readonly number[]; at: number }): void {
  for (const ratio of o.ratios) l.observe(serviceId, { decidedAt: o.at - ratio * o.estimatedMs, estimateAt: o.at - ratio * o.estimatedMs + o.estimatedMs, settledAt: o.at });
}

describe('LocalLateness bounds', () => {
  it('observes a wait estimated at exactly 1 ms, not one under it', () => {
    const l = new LocalLateness(2000);
    observe(l, 'one', { estimatedMs: 1, ratios: [3, 3, 3, 3], at: 100 });
    observe(l, 'under', { estimatedMs: 0.999, ratios: [3, 3, 3, 3], at: 100 });
    expect(l.ratio('one', 100)).toBeCloseTo(3);
    expect(l.ratio('under', 100)).toBe(1);
  });

  it('keeps nothing with a maximum age of 0', () => {
    const l = new LocalLateness(0);
    observe(l, 's', { estimatedMs: 10, ratios: [3, 3, 3, 3], at: 100 });
    expect(l.ratio('s', 100)).toBe(1);
    expect(l.hostRatio(100)).toBe(1);
  });

  it('takes the middle one of an odd number of observations, per service and over the host', () => {
    const l = new LocalLateness(2000);
    observe(l, 's', { estimatedMs: 10, ratios: [1.5, 3.5, 2, 3, 2.5], at: 100 });
    expect(l.ratio('s', 100)).toBeCloseTo(2.5);
    expect(l.hostRatio(100)).toBeCloseTo(2.5);
  });

  it('returns the estimate itself when there is nothing to correct', () => {
    const l = new LocalLateness(2000);
    const endsNow = { ready: true, completionAt: 100 };
    const later = { ready: true, completionAt: 130 };
    // No observations: the ratio is 1.
    expect(l.correct('s', later, 100)).toBe(later);
    observe(l, 's', { estimatedMs: 10, ratios: [2, 2, 2, 2], at: 100 });
    // An estimate that ends now has no wait left to scale.
    expect(l.correct('s', endsNow, 100)).toBe(endsNow);
    expect(l.correct('s', later, 100)).toEqual({ ready: true, completionAt: 160 });
  });
});

import { describe, expect, it } from 'vitest';
import { LocalLateness } from './local-lateness.js';

/** `count` observations of `serviceId`, each a real wait of `ratio` × an estimated 10 ms, settled at `at`. */
function observe(l: LocalLateness, serviceId: string, ratio: number, count: number, at: number): void {
  for (let i = 0; i < count; i++) l.observe(serviceId, { decidedAt: at - ratio * 10, estimateAt: at - ratio * 10 + 10, settledAt: at });
}

describe('LocalLateness.hostRatio over services added after a first reading', () => {
  it('counts every service’s full window once a service joins after hostRatio was read', () => {
    const l = new LocalLateness(10_000);
    observe(l, 'fast', 1, 32, 100);
    expect(l.hostRatio(100)).toBe(1);
    // A second service with a full window of slow observations: 64 in all, half at 1 and half at 3.
    observe(l, 'slow', 3, 32, 100);
    expect(l.hostRatio(100)).toBeCloseTo(2);
    expect(l.ratio('slow', 100)).toBeCloseTo(3);
  });
});

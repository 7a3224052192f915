import { describe, expect, it } from 'vitest';
import { LatencyErrorTracker } from '@epara/core/scheduling';
import { SortedLatencyWindow } from './latency-window.js';

describe('SortedLatencyWindow', () => {
  it('answers exactly what core LatencyErrorTracker answers, read after every observation', () => {
    let x = 99;
    const rnd = (): number => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 4294967296;
    for (const options of [{}, { window: 5, quantile: 0.5, minSamples: 1 }, { window: 17, quantile: 1, minSamples: 3 }, { window: 1, quantile: 0, minSamples: 1 }]) {
      const core = new LatencyErrorTracker(options);
      const mine = new SortedLatencyWindow(options);
      for (let i = 0; i < 3000; i++) {
        // Repeated values (a coarse grid), zeros, and rejected inputs too.
        const predicted = i % 97 === 0 ? 0 : 1 + Math.floor(rnd() * 8);
        const actual = i % 89 === 0 ? Number.NaN : Math.floor(rnd() * 40) / 4;
        core.observe(predicted, actual);
        mine.observe(predicted, actual);
        if (i % 3 !== 2) {
          expect(mine.factor).toBe(core.factor);
          expect(mine.excessMs).toBe(core.excessMs);
        }
        expect(mine.samples).toBe(core.samples);
      }
    }
  });
});

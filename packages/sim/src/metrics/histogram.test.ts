import { describe, expect, it } from 'vitest';
import { LatencyHistogram } from './histogram.js';

describe('LatencyHistogram', () => {
  it('addAt(bucketOf(ms), ms) records exactly what add(ms) records', () => {
    const a = new LatencyHistogram();
    const b = new LatencyHistogram();
    const samples = [0, 0.005, 0.01, 0.5, 1, 3.7, 12, 99.9, 250, 1e6, 1e9];
    for (const ms of samples) {
      a.add(ms);
      b.addAt(LatencyHistogram.bucketOf(ms), ms);
    }
    for (const q of [0.1, 0.5, 0.9, 0.99, 1]) expect(b.quantile(q)).toBe(a.quantile(q));
    expect(b.count).toBe(samples.length);
    expect(b.mean).toBe(a.mean);
  });

  it('reports quantiles within 1 % above the true value and clamps huge latencies to the last bucket', () => {
    const h = new LatencyHistogram();
    for (let i = 1; i <= 1000; i++) h.add(i);
    const p99 = h.quantile(0.99);
    expect(p99).toBeGreaterThanOrEqual(990);
    expect(p99).toBeLessThanOrEqual(990 * 1.0101);
    expect(LatencyHistogram.bucketOf(1e12)).toBe(1999);
    expect(LatencyHistogram.bucketOf(0)).toBe(0);
  });
});

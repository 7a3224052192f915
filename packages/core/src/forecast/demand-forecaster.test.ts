import { describe, expect, it } from 'vitest';
import { createSeededRandom } from '../ports/random.js';
import { createDemandForecaster } from './demand-forecaster.js';

/** Poisson count with mean `m` (inversion; fine for the small means used here). */
function poisson(rnd: () => number, m: number): number {
  let k = 0;
  let p = Math.exp(-m);
  let s = p;
  const u = rnd();
  while (u > s && k < 10_000) {
    k++;
    p *= m / k;
    s += p;
  }
  return k;
}

describe('createDemandForecaster', () => {
  it('converges to a steady rate without declaring changes', () => {
    const rng = createSeededRandom(3);
    const f = createDemandForecaster({ series: 2 });
    let changes = 0;
    for (let s = 1; s <= 300; s++) {
      f.record(0, poisson(() => rng.next(), 20));
      f.record(1, poisson(() => rng.next(), 0.5));
      changes += f.closeWindow(s * 1000).changed.length;
    }
    expect(f.rate(0)).toBeGreaterThan(17);
    expect(f.rate(0)).toBeLessThan(23);
    expect(f.rate(1)).toBeLessThan(1.5);
    expect(changes).toBeLessThanOrEqual(1);
  });

  it('detects a step within a few windows and jumps to the new level', () => {
    const rng = createSeededRandom(5);
    const f = createDemandForecaster({ series: 1, halfLifeMs: 60_000 });
    f.seed(0, 10);
    let detectedAt = -1;
    for (let s = 1; s <= 60; s++) {
      const m = s <= 30 ? 10 : 40;
      f.record(0, poisson(() => rng.next(), m));
      const r = f.closeWindow(s * 1000);
      if (s > 30 && detectedAt < 0 && r.changed.includes(0)) detectedAt = s;
    }
    expect(detectedAt).toBeGreaterThan(30);
    expect(detectedAt).toBeLessThanOrEqual(34);
    expect(f.rate(0)).toBeGreaterThan(33);
  });

  it('bursty but steady demand (27× spikes in a tenth of the windows) alarms in under 1 % of windows', () => {
    const rng = createSeededRandom(9);
    const f = createDemandForecaster({ series: 50 });
    let changes = 0;
    for (let s = 1; s <= 600; s++) {
      for (let i = 0; i < 50; i++) {
        // Mixture: mostly quiet windows, now and then a burst (mean 4 per window, variance ≫ mean).
        f.record(i, rng.next() < 0.1 ? poisson(() => rng.next(), 30) : poisson(() => rng.next(), 1.1));
      }
      changes += f.closeWindow(s * 1000).changed.length;
    }
    expect(changes / (50 * 600)).toBeLessThan(0.01);
  });

  it('detects a drop to zero', () => {
    const f = createDemandForecaster({ series: 1 });
    f.seed(0, 50);
    let found = false;
    for (let s = 1; s <= 5; s++) found ||= f.closeWindow(s * 1000).changed.length > 0;
    expect(found).toBe(true);
    expect(f.rate(0)).toBeLessThan(5);
  });

  it('ignores an empty window and validates its inputs', () => {
    const f = createDemandForecaster({ series: 1 });
    expect(f.closeWindow(0).windowMs).toBe(0);
    expect(() => f.record(3)).toThrow(/series/);
    expect(() => createDemandForecaster({ series: 1, halfLifeMs: 0 })).toThrow(/halfLifeMs/);
    expect(() => f.seed(0, -1)).toThrow(/ratePerSec/);
  });
});

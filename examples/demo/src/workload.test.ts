import { describe, expect, it } from 'vitest';
import { BASE_MIX, buildWorkload, earlyWindowForecast, edgeWorld, forecastSeed, type Workload } from './workload.js';

const D = 10_000;
const LOAD = 3;
const edge = (seed: number): Workload => buildWorkload({ durationMs: D, load: LOAD, nodes: 3, seed });
const count = (w: Workload, id: string): number => w.requests.filter((r) => r.serviceId === id).length;
const seeds = Array.from({ length: 16 }, (_, i) => 100 + i);
const runs = seeds.map(edge);

describe('the edge world (the simulator’s edgeMix scaled to a run)', () => {
  it('is deterministic per seed, and another seed is another workload', () => {
    expect(edge(7)).toEqual(edge(7));
    expect(edge(8).requests).not.toEqual(edge(7).requests);
  });

  it('keeps the base mix’s mean rates (images bursty, chat from the trace, streams by their concurrent count)', () => {
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
    const images = mean(runs.map((w) => count(w, 'image'))) / (D / 1000);
    const chat = mean(runs.map((w) => count(w, 'chat'))) / (D / 1000);
    expect(images / (BASE_MIX.image.perSec * LOAD)).toBeGreaterThan(0.9);
    expect(images / (BASE_MIX.image.perSec * LOAD)).toBeLessThan(1.1);
    // The trace's own rate moves over its hour: the mean over seeded stretches of it, within a quarter.
    expect(chat / (BASE_MIX.chat.perSec * LOAD)).toBeGreaterThan(0.75);
    expect(chat / (BASE_MIX.chat.perSec * LOAD)).toBeLessThan(1.25);
    for (const id of ['video', 'loop', 'vad'] as const) {
      const { streams, rateHz } = BASE_MIX[id];
      const frames = mean(runs.map((w) => w.streams.filter((s) => s.serviceId === id).reduce((a, s) => a + s.frames, 0))) / (D / 1000);
      // About `streams × load` sessions active at any time (the simulator's sessions: a start rate that keeps them).
      expect(frames / (streams * LOAD * rateHz)).toBeGreaterThan(0.7);
      expect(frames / (streams * LOAD * rateHz)).toBeLessThan(1.3);
      expect(runs.some((w) => w.streams.some((s) => s.serviceId === id && s.startMs > 1000))).toBe(true); // streams come and go
    }
  });

  it('has one image burst per run: a tenth of the run at about 3× the mean rate, the rest below it', () => {
    const { burst } = edgeWorld(D);
    expect(burst).toEqual({ kind: 'bursts', periodMs: D, burstMs: D / 10, factor: 4 });
    const bins = new Array<number>(20).fill(0);
    for (const w of runs) for (const r of w.requests) if (r.serviceId === 'image') bins[Math.floor(r.atMs / (D / 20))]!++;
    const total = bins.reduce((a, b) => a + b, 0);
    const sorted = [...bins].sort((a, b) => b - a);
    // The burst's place in its period is the simulator's hash of the period and the service: the same in every seed.
    // Without bursts the three busiest of 20 bins hold about 15 % of the images; with them the burst's 31 % and more.
    expect((sorted[0]! + sorted[1]! + sorted[2]!) / total).toBeGreaterThan(0.3);
    // Outside the burst the rate is below the mean (0.77×, so the mean is kept).
    expect(sorted[10]! / (total / 20)).toBeLessThan(0.9);
  });

  it('moves its hot spot: the busiest entry of the first half is not always that of the second', () => {
    const busiest = (w: Workload, from: number, to: number): number => {
      const n = [0, 0, 0];
      for (const r of w.requests) if (r.atMs >= from && r.atMs < to) n[r.node]!++;
      return n.indexOf(Math.max(...n));
    };
    const moved = runs.filter((w) => busiest(w, 0, D / 2) !== busiest(w, D / 2, D)).length;
    expect(moved).toBeGreaterThan(0);
    expect(moved).toBeLessThan(runs.length);
    // The Zipf (exponent 0.9 over three entries) gives the hot entry about half of the requests.
    const w = runs[0]!;
    const first = w.requests.filter((r) => r.atMs < D / 2);
    const hot = busiest(w, 0, D / 2);
    expect(first.filter((r) => r.node === hot).length / first.length).toBeGreaterThan(0.4);
  });

  it('forecasts from another seed’s run, which differs from the exact mean; the stationary world places from the mean', () => {
    const w = edge(42);
    expect(w.demand).toEqual(earlyWindowForecast({ durationMs: D, load: LOAD, nodes: 3, seed: 42 }));
    expect(forecastSeed(42)).not.toBe(42);
    expect(w.demand).not.toEqual(w.meanDemand);
    // The forecast is a count over another seed's run: not this run's arrivals.
    const own = w.requests.filter((r) => r.serviceId === 'image').length / (D / 1000);
    expect(w.demand.image.reduce((a, b) => a + b, 0)).not.toBeCloseTo(own, 6);
    const s = buildWorkload({ durationMs: D, load: LOAD, nodes: 3, seed: 42, world: 'stationary' });
    expect(s.demand).toEqual(s.meanDemand);
    expect(s.demand.image[0]! / s.demand.image.reduce((a, b) => a + b, 0)).toBeCloseTo(1 / 1.39, 3); // 1 : 0.3 : 0.09
  });
});

import { describe, expect, it } from 'vitest';
import { confirmEnds, fittedBracket, fittedCrossing, searchCalibration, type CalibrationReading } from './calibration-search.js';
import { gridLoad, stepsPerDoubling } from './load-grid.js';

/**
 * A fake baseline: attainment 100% up to the knee of its queue delay, then down 10 points per 0.01 of load, to
 * a collapse at 30%. In the collapse the goodput readings are noise that happens to favour 1 ms — as the
 * sweep at a ×2 step found them on a quiet machine (42.7% at 1 ms, 41.4% at 5 ms, 35.3% at 10 ms).
 */
function fakeBaseline(knees: Readonly<Record<number, number>>): { probe: (f: number, q: number, repeat: number) => Promise<CalibrationReading>; runs: string[] } {
  const runs: string[] = [];
  return {
    runs,
    probe: async (f, q, repeat) => {
      runs.push(`${f.toFixed(4)}/${q}/${repeat}`);
      const attainment = Math.max(0.3, Math.min(1, 1 - 10 * (f - knees[q]!)));
      const goodputPerSec = attainment <= 0.5 ? 60 + (q === 1 ? 10 : 0) : 1000 * f * attainment;
      return { attainment, goodputPerSec };
    },
  };
}

const options = { target: 0.9, start: 0.25, maxSteps: 3, bisections: 2, minFraction: 0.02, defaultQueueDelayMs: 0, queueDelaysMs: [0, 1, 5, 10] };

describe('searchCalibration', () => {
  it('sweeps the queue delay next to the knee, not in the collapse, and brackets the best value\'s knee at the same resolution', async () => {
    const b = fakeBaseline({ 0: 0.13, 1: 0.14, 5: 0.19, 10: 0.17 });
    const r = await searchCalibration({ ...options, probe: b.probe });
    // At 0 ms: 25% fails, 12.5% passes, two bisections: [12.5%, 14.87%]. The sweep runs at 14.87%, where 5 ms
    // serves the most (1 ms barely passes, 0 ms fails); 5 ms passes there, so its knee lies higher: ×2^(1/4) up.
    expect(r.maxQueueDelayMs).toBe(5);
    const step = 2 ** 0.25;
    expect(r.knee.passed! / 0.125).toBeCloseTo(step ** 2, 9);
    expect(r.knee.failed! / r.knee.passed!).toBeCloseTo(step, 9);
    expect(r.knee.passed!).toBeLessThanOrEqual(0.19);
    expect(r.knee.failed!).toBeGreaterThan(0.19);
    expect(r.fraction).toBe(r.knee.failed);
    // No queue delay but the default ran at the collapsed 25%, and no reading ran twice.
    expect(b.runs.filter((k) => k.startsWith('0.2500/') && !k.startsWith('0.2500/0/'))).toEqual([]);
    expect(new Set(b.runs).size).toBe(b.runs.length);
  });

  it('steps down at the best value when the baseline still fails where the sweep ran', async () => {
    // 1 ms serves the most at 14.87% (its 86% beats 0 ms's 82%) but still fails there: its knee lies below.
    const b = fakeBaseline({ 0: 0.13, 1: 0.135, 5: 0.12, 10: 0.11 });
    const r = await searchCalibration({ ...options, probe: b.probe });
    expect(r.maxQueueDelayMs).toBe(1);
    expect(r.knee.failed).toBeCloseTo(0.125 * 2 ** 0.25, 9);
    expect(r.knee.passed).toBe(0.125);
    // 12.5% passed at 0 ms; whether it passes at 1 ms is read again, not assumed.
    expect(b.runs).toContain('0.1250/1/0');
  });

  it('keeps the default bracket when the default queue delay serves the most', async () => {
    const b = fakeBaseline({ 0: 0.14, 1: 0.13, 5: 0.12, 10: 0.11 });
    const r = await searchCalibration({ ...options, probe: b.probe });
    expect(r).toMatchObject({ maxQueueDelayMs: 0, searched: true });
    expect(r.knee.passed! * 2 ** 0.25).toBeCloseTo(r.knee.failed!, 9);
    expect(r.fraction).toBe(r.knee.failed);
  });

  it('at the floor when the baseline fails everywhere, and at the highest fraction probed when it never fails', async () => {
    const down = fakeBaseline({ 0: 0, 1: 0, 5: 0, 10: 0 });
    const low = await searchCalibration({ ...options, probe: down.probe, minFraction: 0.05 });
    expect(low).toMatchObject({ fraction: 0.05, knee: { passed: null, failed: 0.05 } });
    const up = fakeBaseline({ 0: 9, 1: 9, 5: 9, 10: 9 });
    const high = await searchCalibration({ ...options, probe: up.probe });
    expect(high).toMatchObject({ fraction: 2, maxQueueDelayMs: 0, knee: { passed: 2, failed: null } });
  });

  it('with a fixed fraction, sweeps there and says which side of the line it lies on', async () => {
    const b = fakeBaseline({ 0: 0.13, 1: 0.14, 5: 0.19, 10: 0.17 });
    const r = await searchCalibration({ ...options, probe: b.probe, fixedFraction: 0.16 });
    expect(r).toMatchObject({ fraction: 0.16, maxQueueDelayMs: 5, searched: false, knee: { passed: 0.16, failed: null } });
    expect(b.runs.every((k) => k.startsWith('0.1600/'))).toBe(true);
  });

  it('lands on the same load in runs whose measured capacity differs, on the grid of loads', async () => {
    // The baseline's curve in load (× the base mix), as the machine sets it: a cliff at ×3.5, whatever the
    // capacity figure of the run. Three quiet runs measured capacities of ×17.52, ×18.16 and ×17.61.
    const run = async (cap: number, grid: boolean): Promise<number> => {
      const probe = async (f: number): Promise<CalibrationReading> => {
        const load = cap * f;
        return { attainment: load <= 3.5 ? 0.97 : 0.5, goodputPerSec: 100 * load };
      };
      const snap = grid ? (f: number): number => gridLoad(cap * f, 4) / cap : undefined;
      const r = await searchCalibration({ ...options, minFraction: 0.01, probe, ...(snap ? { snap } : {}) });
      return cap * r.fraction;
    };
    const onGrid = await Promise.all([17.52, 18.16, 17.61].map((cap) => run(cap, true)));
    expect(onGrid[0]).toBeCloseTo(2 ** (8 / 4), 9); // ×4: the first grid load past ×3.5
    expect(onGrid[1]).toBeCloseTo(onGrid[0]!, 9);
    expect(onGrid[2]).toBeCloseTo(onGrid[0]!, 9);
    // In fractions of each run's capacity, the three runs probed (and chose) three different loads.
    const fractions = await Promise.all([17.52, 18.16, 17.61].map((cap) => run(cap, false)));
    expect(new Set(fractions.map((l) => l.toFixed(3))).size).toBe(3);
  });

  it('decides the final bracket by the median of three workloads: one reading far off the line is outvoted', async () => {
    // The baseline passes up to 16% (96%), fails above (50%); the first workload at 14.87% reads 79% — as a
    // quiet run read 79.2% at a load where its other readings, in three runs, gave 93.9–99.5%.
    const probe = async (f: number, _q: number, repeat: number): Promise<CalibrationReading> => {
      const outlier = Math.abs(f - 0.125 * 2 ** 0.25) < 1e-9 && repeat === 0;
      const attainment = outlier ? 0.79 : f <= 0.16 ? 0.96 : 0.5;
      return { attainment, goodputPerSec: 1000 * f * attainment };
    };
    const once = await searchCalibration({ ...options, queueDelaysMs: [0], probe });
    expect(once.fraction).toBeCloseTo(0.125 * 2 ** 0.25, 9); // the outlier placed the knee a step low
    const confirmed = await searchCalibration({ ...options, queueDelaysMs: [0], probe, confirmRuns: 3 });
    expect(confirmed.fraction).toBeCloseTo(0.125 * 2 ** 0.5, 9);
    expect(confirmed.knee.passed).toBeCloseTo(0.125 * 2 ** 0.25, 9);
  });
});

describe('confirmEnds', () => {
  it('moves the bracket down when the passing end fails on the median, and keeps a bracket the medians agree with', async () => {
    const attainment = async (f: number, repeat: number): Promise<number> => (f < 0.105 ? 0.95 : repeat === 0 && f < 0.12 ? 0.93 : 0.6);
    const knee = await confirmEnds({ passed: 0.11, failed: 0.13, probes: [] }, { target: 0.9, step: 1.1, runs: 3, minFraction: 0.01, attainment });
    expect(knee.passed).toBeCloseTo(0.1, 9);
    expect(knee.failed).toBe(0.11);
    const kept = await confirmEnds({ passed: 0.1, failed: 0.2, probes: [] }, { target: 0.9, step: 2, runs: 3, minFraction: 0.01, attainment });
    expect(kept).toMatchObject({ passed: 0.1, failed: 0.2 });
    // A bracket wider than a step is read at the load a step above its pass.
    const filled = await confirmEnds({ passed: 0.05, failed: 0.2, probes: [] }, { target: 0.9, step: 2, runs: 3, minFraction: 0.01, attainment });
    expect(filled).toMatchObject({ passed: 0.1, failed: 0.2 });
  });

  it('decides the bracket by a monotone fit of every reading, the search\'s too: one load read low among its neighbours is pooled with them', async () => {
    // Readings as a quiet run's calibration took them (×2.00 to ×3.36 at one queue delay, three workloads at the
    // ends): ×2.38 read 91.6, 89.5, 86.2 (median 89.5%) between ×2.00 at 87.3, 89.9, 90.8 (median 89.9%) and
    // ×1.68 at 94.8–98.7%. Each end by its own median, ×2.00 fails; pooled, the two loads read the same
    // (89.7%): both fail, and the bracket is ×1.68–×2.00.
    const known = [
      [1.68, [0.948, 0.985, 0.987]],
      [2.0, [0.873, 0.899, 0.908]],
      [2.38, [0.916, 0.895, 0.862]],
      [2.83, [0.803]],
    ] as const;
    const readings = known.flatMap(([f, values]) => values.map((attainment, repeat) => ({ fraction: f, repeat, attainment })));
    expect(fittedBracket(readings, 0.9)).toEqual({ passed: 1.68, failed: 2.0 });
    // Were ×2.38 to read better than ×2.00 (91.6, 92, 92), the fit pools them at 90.8%: both pass.
    const better = readings.map((r) => (r.fraction === 2.38 ? { ...r, attainment: Math.max(r.attainment, 0.92) } : r));
    expect(fittedBracket(better, 0.9)).toEqual({ passed: 2.38, failed: 2.83 });
    const crossing = fittedCrossing(better, 0.9)!;
    expect(crossing).toBeGreaterThan(2.38);
    expect(crossing).toBeLessThan(2.83);
    // confirmEnds reads nothing it was given.
    const asked: string[] = [];
    const knee = await confirmEnds({ passed: 2.0, failed: 2.38, probes: [] }, { target: 0.9, step: 2.38 / 2, runs: 3, minFraction: 0.5, known: readings, attainment: async (f, repeat) => (asked.push(`${f}/${repeat}`), 0.5) });
    expect(asked).toEqual([]);
    expect(knee).toMatchObject({ passed: 1.68, failed: 2.0 });
  });
});

describe('the sweep and the search on noisy readings', () => {
  it('keeps the default queue delay unless another beats it on the same two workloads by the margin', async () => {
    // 1 ms reads 12% better than 0 ms on the first workload and 2% worse on the second: noise, not a better value.
    const probe = async (f: number, q: number, repeat: number): Promise<CalibrationReading> => {
      const goodputPerSec = 1000 * f * (q === 1 ? (repeat === 0 ? 1.12 : 0.98) : 1);
      return { attainment: f <= 0.14 ? 0.97 : 0.6, goodputPerSec };
    };
    const single = await searchCalibration({ ...options, queueDelaysMs: [0, 1], probe });
    expect(single.maxQueueDelayMs).toBe(1);
    const two = await searchCalibration({ ...options, queueDelaysMs: [0, 1], probe, sweepRuns: 2, sweepMargin: 0.05 });
    expect(two.maxQueueDelayMs).toBe(0);
    // A value better on both workloads by more than the margin is kept.
    const better = async (f: number, q: number, repeat: number): Promise<CalibrationReading> => ({ ...(await probe(f, q, repeat)), goodputPerSec: 1000 * f * (q === 1 ? 1.1 : 1) });
    expect((await searchCalibration({ ...options, queueDelaysMs: [0, 1], probe: better, sweepRuns: 2, sweepMargin: 0.05 })).maxQueueDelayMs).toBe(1);
  });

  it('lands within one grid step of its median load in 95% of seeded runs of a baseline read with the quiet runs\' noise, in the demo\'s shape with 30% fewer probes', async () => {
    // The baseline's attainment by load (× the base mix) as the six quiet runs of 2026-12-06/07 read it near
    // the line (×1.68 97%, ×2.00 90.5%, ×2.38 87%, ×2.83 78%, ×3.36 65%, ×4.76 3%), each reading off by a
    // normal error of 3 + 30 × (1 − attainment) points (±6 at 89%, ±10 at 78%: the spread of the runs' readings
    // at one load and workload), each run's machine moving the curve by a factor of e^(0.05 N). The queue delay
    // changes nothing here but the noise.
    const points: [number, number][] = [[0.5, 1], [1, 0.99], [1.68, 0.97], [2, 0.905], [2.38, 0.87], [2.83, 0.78], [3.36, 0.65], [4, 0.3], [4.76, 0.03], [8, 0.01]];
    const curve = (load: number): number => {
      const x = Math.log2(load);
      for (let i = 1; i < points.length; i++) {
        const [a, ma] = points[i - 1]!;
        const [b, mb] = points[i]!;
        if (x <= Math.log2(b)) return ma + ((mb - ma) * (x - Math.log2(a))) / (Math.log2(b) - Math.log2(a));
      }
      return 0.01;
    };
    type Shape = { factor: number; maxSteps: number; bisections: number; confirmRuns: number; queueDelaysMs: number[] };
    const seeded = async (shape: Shape): Promise<{ within: number; readsPerRun: number }> => {
      const chosen: number[] = [];
      let reads = 0;
      for (let seed = 1; seed <= 200; seed++) {
        let s = seed;
        const uniform = (): number => ((s = (s * 1664525 + 1013904223) >>> 0), s / 2 ** 32);
        const normal = (): number => (uniform() + uniform() + uniform() + uniform() + uniform() + uniform() - 3) * Math.SQRT2;
        const cap = 17 + 2 * uniform();
        const shift = Math.exp(0.05 * normal());
        const probe = async (f: number): Promise<CalibrationReading> => {
          reads++;
          const load = f * cap;
          const m = curve(load * shift);
          const attainment = Math.max(0, Math.min(1, m + (0.03 + 0.3 * (1 - m)) * normal()));
          return { attainment, goodputPerSec: 200 * load * attainment * (1 + 0.06 * normal()) };
        };
        const snap = (f: number): number => gridLoad(cap * f, stepsPerDoubling(shape.factor, shape.bisections)) / cap;
        const r = await searchCalibration({ ...options, ...shape, defaultQueueDelayMs: 0, minFraction: 0.02, snap, probe, sweepRuns: 1, sweepMargin: 0.05 });
        chosen.push(Math.round(4 * Math.log2(r.fraction * cap))); // grid steps of ×2^(1/4) from the base mix
      }
      const median = [...chosen].sort((a, b) => a - b)[chosen.length / 2]!;
      return { within: chosen.filter((k) => Math.abs(k - median) <= 1).length / chosen.length, readsPerRun: reads / chosen.length };
    };
    // The previous shape (×2 steps, two bisections, three confirming workloads, four queue delays) and the demo's.
    const before = await seeded({ factor: 2, maxSteps: 3, bisections: 2, confirmRuns: 3, queueDelaysMs: [0, 1, 5, 10] });
    const now = await seeded({ factor: Math.SQRT2, maxSteps: 5, bisections: 1, confirmRuns: 2, queueDelaysMs: [0, 5] });
    expect(before.within).toBeGreaterThanOrEqual(0.95);
    expect(now.within).toBeGreaterThanOrEqual(0.95);
    expect(now.readsPerRun).toBeLessThan(0.7 * before.readsPerRun);
  });
});

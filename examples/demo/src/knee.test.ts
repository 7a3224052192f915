import { describe, expect, it } from 'vitest';
import { confirmedProbe, searchKnee } from './knee.js';

/** A system that keeps 100% up to `knee` and 50% beyond. */
const step = (knee: number) => async (f: number): Promise<number> => (f <= knee ? 1 : 0.5);

describe('searchKnee', () => {
  it('brackets the knee from below, then bisects geometrically', async () => {
    const k = await searchKnee({ probe: step(0.3), target: 0.9, start: 0.1, factor: 2, maxSteps: 4, bisections: 2 });
    expect(k.passed).not.toBeNull();
    expect(k.failed).not.toBeNull();
    expect(k.passed!).toBeLessThanOrEqual(0.3);
    expect(k.failed!).toBeGreaterThan(0.3);
    // 0.1 → 0.2 → 0.4 bracket [0.2, 0.4], two bisections: resolution 2^(1/4).
    expect(k.failed! / k.passed!).toBeCloseTo(2 ** 0.25, 6);
    expect(k.probes.map((p) => p.fraction)).toHaveLength(5);
  });

  it('searches downward when the start fails, and reuses a known end without probing it again', async () => {
    const down = await searchKnee({ probe: step(0.05), target: 0.9, start: 0.25, factor: 2, maxSteps: 4, bisections: 0 });
    expect(down).toMatchObject({ passed: 0.25 / 8, failed: 0.25 / 4 });
    const probed: number[] = [];
    const known = await searchKnee({
      probe: async (f) => (probed.push(f), step(0.3)(f)),
      target: 0.9,
      start: 1,
      factor: 2,
      maxSteps: 2,
      bisections: 1,
      known: { passed: 0.2, failed: 0.4 },
    });
    expect(probed).toHaveLength(1);
    expect(probed[0]).toBeCloseTo(Math.sqrt(0.2 * 0.4), 9);
    expect(known.passed).toBeCloseTo(Math.sqrt(0.08), 9);
    expect(known.failed).toBe(0.4);
  });

  it('stops bisecting at a given resolution', async () => {
    const k = await searchKnee({ probe: step(0.3), target: 0.9, start: 0.2, factor: 2, maxSteps: 4, bisections: 5, resolution: 2 ** 0.5 });
    // 0.2 → 0.4 bracket [0.2, 0.4]; one bisection reaches the resolution.
    expect(k.probes).toHaveLength(3);
    expect(k.failed! / k.passed!).toBeCloseTo(2 ** 0.5, 9);
  });

  it('does not step below the floor', async () => {
    const k = await searchKnee({ probe: async () => 0, target: 0.9, start: 0.25, factor: 2, maxSteps: 5, bisections: 0, minFraction: 0.1 });
    expect(k.probes.map((p) => p.fraction)).toEqual([0.25, 0.125, 0.1]);
    expect(k).toMatchObject({ passed: null, failed: 0.1 });
  });

  it('does not probe the floor again when it lies within a hair of the failing fraction', async () => {
    const probed: number[] = [];
    const k = await searchKnee({ probe: async (f) => (probed.push(f), 0), target: 0.9, start: 1, factor: 2, maxSteps: 3, bisections: 2, minFraction: 0.999, known: { passed: null, failed: 1 } });
    expect(probed).toEqual([]);
    expect(k).toMatchObject({ passed: null, failed: 1 });
  });

  it('says so when a side is never found within the steps', async () => {
    const never = await searchKnee({ probe: async () => 1, target: 0.9, start: 0.5, factor: 2, maxSteps: 2, bisections: 3 });
    expect(never).toMatchObject({ passed: 2, failed: null });
    const always = await searchKnee({ probe: async () => 0, target: 0.9, start: 0.5, factor: 2, maxSteps: 1, bisections: 3 });
    expect(always).toMatchObject({ passed: null, failed: 0.25 });
  });
});

describe('confirmedProbe', () => {
  it('runs once for a clear reading and averages two workloads for a marginal one', async () => {
    const runs: [number, number][] = [];
    // Workload 0 reads 87% at 0.2 (marginal), workload 1 reads 97% there; 0.4 is a clear failure.
    const readings: Record<string, number> = { '0.2/0': 0.87, '0.2/1': 0.97, '0.4/0': 0.3, '0.4/1': 0.99 };
    const probe = confirmedProbe(async (f, repeat) => (runs.push([f, repeat]), readings[`${f}/${repeat}`]!), { target: 0.9, band: 0.06 });
    expect(await probe(0.4)).toBe(0.3);
    expect(await probe(0.2)).toBeCloseTo(0.92, 9);
    expect(runs).toEqual([[0.4, 0], [0.2, 0], [0.2, 1]]);
  });

  it('decides a tie — two readings whose mean lies within the tie band — with a third workload', async () => {
    // A quiet calibration read 88.6% and 90.8% at one load: a mean of 89.7%, "fails" by 0.3 points.
    const readings = [0.886, 0.908, 0.95];
    const runs: number[] = [];
    const probe = confirmedProbe(async (_f, repeat) => (runs.push(repeat), readings[repeat]!), { target: 0.9, band: 0.06, tieBand: 0.03 });
    expect(await probe(0.149)).toBeCloseTo((0.886 + 0.908 + 0.95) / 3, 9);
    expect(runs).toEqual([0, 1, 2]);
    // Without a tie band two readings decide, as before.
    const two = confirmedProbe(async (_f, repeat) => readings[repeat]!, { target: 0.9, band: 0.06 });
    expect(await two(0.149)).toBeCloseTo(0.897, 9);
  });

  it('lets a confirmed pass move the knee search up a step that one noisy reading would have stopped', async () => {
    // The system passes up to 0.3; its first workload misreads 0.25 as 88%, the second reads 99%.
    const noisy = async (f: number, repeat: number): Promise<number> => (f <= 0.3 ? (Math.abs(f - 0.25) < 1e-9 && repeat === 0 ? 0.88 : 0.99) : 0.4);
    const plain = await searchKnee({ probe: (f) => noisy(f, 0), target: 0.9, start: 0.25, factor: 2, maxSteps: 3, bisections: 0 });
    expect(plain.failed).toBe(0.25);
    const confirmed = await searchKnee({ probe: confirmedProbe(noisy, { target: 0.9, band: 0.06 }), target: 0.9, start: 0.25, factor: 2, maxSteps: 3, bisections: 0 });
    expect(confirmed).toMatchObject({ passed: 0.25, failed: 0.5 });
  });
});

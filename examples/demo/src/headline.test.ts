import { describe, expect, it } from 'vitest';
import type { CapacityResult } from './capacity.js';
import { capacityVerdict, headline } from './headline.js';
import type { TrialPair } from './summary.js';

/** A capacity result from each system's bracket (the ratios as capacity.ts computes them). */
function capacity(epara: [number | null, number | null], baseline: [number | null, number | null]): CapacityResult {
  const div = (a: number | null, b: number | null): number | null => (a === null || b === null ? null : a / b);
  return {
    epara: { passed: epara[0], failed: epara[1], probes: [] },
    baseline: { passed: baseline[0], failed: baseline[1], probes: [] },
    ratio: div(epara[0], baseline[0]),
    ratioMin: div(epara[0], baseline[1]),
    ratioMax: div(epara[1], baseline[0]),
    eparaRuns: [],
  };
}

/** Trials in which only the overall attainments matter. */
function pairs(baseline: number[], epara: number[]): TrialPair[] {
  return baseline.map((b, i) => ({ trial: i, seed: i, order: ['epara', 'triton'], epara: { report: { overall: { attainment: epara[i]!, goodputPerSec: epara[i]! } } }, triton: { report: { overall: { attainment: b, goodputPerSec: b } } } }) as unknown as TrialPair);
}

// The search grid of the quiet runs: ×√2 steps bisected twice (12.5%, 14.9%, 17.7%, 21.0%).
const g = (k: number): number => 0.125 * Math.SQRT2 ** (k / 2);

describe('capacityVerdict', () => {
  it('says more only when EPARA kept the target where the baseline failed, less only in the opposite case', () => {
    expect(capacityVerdict(capacity([g(2), g(3)], [g(1), g(2)]))).toBe('more');
    expect(capacityVerdict(capacity([g(0), g(1)], [g(2), g(3)]))).toBe('less');
    // The same bracket: ratio 1, range one step either way.
    expect(capacityVerdict(capacity([g(2), g(3)], [g(2), g(3)]))).toBe('within resolution');
    expect(capacityVerdict(capacity([null, g(0)], [g(2), g(3)]))).toBe('not measured');
    expect(capacityVerdict(null)).toBe('not measured');
  });
});

describe('headline', () => {
  it('bounds the goodput ratio by 1 ÷ the baseline attainment of each trial and names the capacity ratio as the answer', () => {
    const h = headline(pairs([0.5, 0.8, 0.64], [0.7, 0.9, 0.72]), { overall: { median: 1.125, min: 1.125, max: 1.4, values: [] } }, capacity([g(2), g(3)], [g(2), g(3)]));
    expect(h.ratioCeiling).toBeCloseTo(1 / 0.64, 9);
    expect(h.capacityVerdict).toBe('within resolution');
    const text = h.lines.join('\n');
    expect(text).toContain('capacity ratio 1.00× (EPARA 17.7% ÷ baseline 17.7%');
    expect(text).toContain('allow 0.84×–1.19×');
    expect(text).toContain('one step of ×1.19');
    expect(text).toContain('the baseline attained 64.0%, so no system could reach more than 1.56×');
  });

  it('has no ceiling when the baseline attained nothing, and says when the search was skipped', () => {
    const h = headline(pairs([0, 0], [0.1, 0.2]), {}, null);
    expect(h.ratioCeiling).toBeNull();
    expect(h.capacityVerdict).toBe('not measured');
    expect(h.lines.join('\n')).not.toContain('capacity ratio');
  });
});

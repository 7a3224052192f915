import { describe, expect, it } from 'vitest';
import { gridLoad, gridLoadAtLeast, stepsPerDoubling } from './load-grid.js';

describe('gridLoad', () => {
  it('puts the loads of runs whose measured capacity differs on the same grid point', () => {
    // "17.7% of capacity" in three quiet runs (capacity ×17.52, ×18.16, ×17.61): one load on the grid.
    const loads = [17.52, 18.16, 17.61].map((cap) => gridLoad(cap * 0.177, 4));
    expect(new Set(loads).size).toBe(1);
    expect(loads[0]).toBeCloseTo(2 ** (7 / 4), 12);
  });

  it('keeps grid points fixed, steps ×2 and bisections on the grid, and a floor at or above itself', () => {
    const g = 2 ** (6 / 4);
    expect(gridLoad(g, 4)).toBe(g);
    expect(gridLoad(Math.sqrt(g * 2 * g), 4)).toBeCloseTo(2 ** (8 / 4), 12);
    expect(gridLoad(g * 2 ** 0.1, 2)).toBeCloseTo(g, 12);
    expect(gridLoadAtLeast(0.1667, 4)).toBeGreaterThanOrEqual(0.1667);
    expect(gridLoadAtLeast(0.1667, 4) / 2 ** 0.25).toBeLessThan(0.1667);
    expect(gridLoadAtLeast(g, 4)).toBeCloseTo(g, 12);
  });

  it('gives ×2 steps with two bisections and ×√2 steps with one the same grid: a step of ×2^(1/4)', () => {
    expect(stepsPerDoubling(2, 2)).toBe(4);
    expect(stepsPerDoubling(Math.SQRT2, 1)).toBe(4);
    expect(stepsPerDoubling(2, 0)).toBe(1);
  });
});

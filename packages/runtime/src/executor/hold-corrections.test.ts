import { describe, expect, it } from 'vitest';
import { createProfile } from '@epara/core';
import { HoldCorrections } from './hold-corrections.js';

const profile = createProfile('cpu-1t', [
  { batch: 1, ms: 2 },
  { batch: 4, ms: 6 },
]);

describe('HoldCorrections', () => {
  it('stays within 4× the profile however long the batches hold the device', () => {
    const c = new HoldCorrections();
    for (let i = 0; i < 40; i++) c.observe(profile, 'd0', 1, 12, i); // 6×
    expect(c.of('d0', 1, 40)).toBe(4);
  });

  it('lets one stall move the correction by at most 60 %, and keeps the slow half of varied batches', () => {
    const c = new HoldCorrections();
    for (let i = 0; i < 40; i++) c.observe(profile, 'd0', 4, 12, i); // 2×
    c.observe(profile, 'd0', 4, 6000, 40); // one batch at 1 000×
    expect(c.of('d0', 4, 40)).toBeCloseTo(0.8 * 2 + 0.2 * 8, 2);
    // Batches alternating 2× and 5× (mean 3.5×): the EWMA keeps both halves, where clamping each batch at 4×
    // read about 3.
    const v = new HoldCorrections();
    for (let i = 0; i < 200; i++) v.observe(profile, 'd0', 4, i % 2 === 0 ? 12 : 30, i);
    expect(v.of('d0', 4, 200)).toBeGreaterThan(3.3);
  });
});

import { describe, expect, it } from 'vitest';
import { affineProfile } from '../profiles/latency-profile.js';
import type { ServiceSpec } from '../model/service.js';
import { planMultiFrame } from './multi-frame.js';

const video = (weightsBytes: number): ServiceSpec => ({
  id: 'video',
  sensitivity: 'frequency',
  slo: { kind: 'frequency', rateHz: 30, stalenessMs: 200 },
  memory: { weightsBytes, perItemBytes: 100 },
  profiles: { cpu: affineProfile('cpu', { fixedMs: 10, perItemMs: 5 }) },
});
const cpu = { kind: 'cpu', memoryBytes: 1000 };

describe('planMultiFrame memory at pack 1', () => {
  it('plans a pack of one when the weights and one frame fill the usable memory exactly', () => {
    const out = planMultiFrame({ service: video(900), device: cpu, options: { reserveFraction: 0 } });
    expect(out.feasible).toBe(true);
    if (out.feasible) expect(out.plan.batchSize).toBe(1);
  });

  it('is ruled out by memory, not by rate, when one frame more than fits', () => {
    expect(planMultiFrame({ service: video(901), device: cpu, options: { reserveFraction: 0 } })).toMatchObject({ feasible: false, constraint: 'memory' });
    // Weights alone fit (850 + 100 > 900 usable with the default 10 % reserve): still memory.
    expect(planMultiFrame({ service: video(850), device: cpu })).toMatchObject({ feasible: false, constraint: 'memory' });
  });
});

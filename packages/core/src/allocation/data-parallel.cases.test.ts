import { describe, expect, it } from 'vitest';
import { affineProfile } from '../profiles/latency-profile.js';
import type { ServiceSpec } from '../model/service.js';
import { planDataParallel } from './data-parallel.js';

// Frames striped over replicas (a frequency service), on hand-worked figures: packs of n frames take
// 10 + 20n ms, and a frame may wait at most S = 200 ms, so one device sustains at most a few dozen frames/s.
const video: ServiceSpec = {
  id: 'video',
  sensitivity: 'frequency',
  slo: { kind: 'frequency', rateHz: 30, stalenessMs: 200 },
  memory: { weightsBytes: 5e6, perItemBytes: 2e6 },
  profiles: { cpu: affineProfile('cpu', { fixedMs: 10, perItemMs: 20 }) },
};
const cpu = { kind: 'cpu', memoryBytes: 1e9 };

describe('planDataParallel with frames striped', () => {
  it('uses the fewest replicas that each keep up with their share of the frames', () => {
    // 300/s over 7 replicas is 42.86/s each, which packs of 3 (70 ms) sustain within S.
    const out = planDataParallel({ service: video, device: cpu, demandPerSec: 300 });
    expect(out.feasible).toBe(true);
    if (out.feasible) {
      expect([out.plan.devices, out.plan.batchSize]).toEqual([7, 3]);
      expect(out.plan.capacityPerSec).toBeGreaterThanOrEqual(300);
      expect(out.plan.notes[0]).toBe('7 replicas, frames striped: F/d = 42.86/s each');
    }
  });

  it('rules out a device that cannot hold one replica, and says so', () => {
    expect(planDataParallel({ service: video, device: { kind: 'cpu', memoryBytes: 7e6 - 1 }, demandPerSec: 300, options: { reserveFraction: 0 } })).toEqual({
      feasible: false,
      constraint: 'memory',
      reason: 'one replica does not fit the device',
    });
    expect(planDataParallel({ service: video, device: { kind: 'cpu', memoryBytes: 7e6 }, demandPerSec: 30, options: { reserveFraction: 0 } }).feasible).toBe(true);
  });

  it('rules out a service whose single frame already takes longer than its staleness bound', () => {
    // L(1) = 30 ms against S = 20 ms.
    const stale: ServiceSpec = { ...video, slo: { kind: 'frequency', rateHz: 30, stalenessMs: 20 } };
    expect(planDataParallel({ service: stale, device: cpu, demandPerSec: 30 })).toEqual({ feasible: false, constraint: 'staleness', reason: 'L(1) exceeds S = 20 ms' });
  });

  it('with fewer replicas allowed than needed, serves part of the frames at the best rate each sustains; with one, none', () => {
    const two = planDataParallel({ service: video, device: cpu, demandPerSec: 300, options: { maxReplicas: 2 } });
    expect(two.feasible).toBe(true);
    if (two.feasible) {
      expect(two.plan.devices).toBe(2);
      expect(two.plan.capacityPerSec).toBeLessThan(300);
    }
    expect(planDataParallel({ service: video, device: cpu, demandPerSec: 300, options: { maxReplicas: 1 } }).feasible).toBe(false);
  });
});

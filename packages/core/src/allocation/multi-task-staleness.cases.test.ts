import { describe, expect, it } from 'vitest';
import { affineProfile } from '../profiles/latency-profile.js';
import type { ServiceSpec } from '../model/service.js';
import { checkMultiTask } from './multi-task.js';

// The time rule of a co-located pack, `fill + C + ι·L_k(b_k) ≤ budget`, on hand-worked figures.
const MB = 1e6;
const cpu = { kind: 'cpu', memoryBytes: 1000 * MB };
const video: ServiceSpec = {
  id: 'video',
  sensitivity: 'frequency',
  slo: { kind: 'frequency', rateHz: 30, stalenessMs: 200 },
  memory: { weightsBytes: 5 * MB, perItemBytes: 2 * MB },
  profiles: { cpu: affineProfile('cpu', { fixedMs: 10, perItemMs: 8 }) },
};

describe('checkMultiTask time slack', () => {
  it('counts a frequency pack’s fill time as (b − 1) frames at its rate', () => {
    // Alone, batch 5 at 30/s: fill 4 / 30 s = 133.3 ms, cycle 10 + 8·5 = 50 ms, own run 50 ms.
    const v = checkMultiTask({ device: cpu, members: [{ service: video, batchSize: 5, ratePerSec: 30 }] });
    expect(v.members[0]!.timeSlackMs).toBeCloseTo(200 - (4000 / 30 + 50 + 50), 9);
    expect(v.members[0]!.failed).toEqual(['staleness']);
  });

  it('adds no fill time for a frequency member with no rate given', () => {
    // No rate: the pack is not waiting on frames, so the slack is 200 − (50 + 50) = 100 ms.
    const v = checkMultiTask({ device: cpu, members: [{ service: video, batchSize: 5 }] });
    expect(v.members[0]!.timeSlackMs).toBe(100);
    expect(v.members[0]!.failed).toEqual([]);
    expect(v.feasible).toBe(true);
  });

  it('accepts a latency member whose slack is exactly zero', () => {
    // D = 20 ms, alone at batch 1: cycle 4 + 6 = 10 ms and its own run 10 ms, 20 ms in all.
    const tight: ServiceSpec = { ...video, id: 'tight', sensitivity: 'latency', slo: { kind: 'latency', deadlineMs: 20 }, profiles: { cpu: affineProfile('cpu', { fixedMs: 4, perItemMs: 6 }) } };
    const v = checkMultiTask({ device: cpu, members: [{ service: tight, batchSize: 1 }] });
    expect(v.members[0]).toMatchObject({ timeSlackMs: 0, failed: [] });
    expect(v.feasible).toBe(true);
  });

  it('accepts a member whose rate is exactly what the cycle serves', () => {
    // Alone at batch 1 the cycle is 10 ms: 1 item per 10 ms is 100/s, so a rate of 100/s leaves 0 slack.
    const tight: ServiceSpec = { ...video, id: 'tight', sensitivity: 'latency', slo: { kind: 'latency', deadlineMs: 50 }, profiles: { cpu: affineProfile('cpu', { fixedMs: 4, perItemMs: 6 }) } };
    const v = checkMultiTask({ device: cpu, members: [{ service: tight, batchSize: 1, ratePerSec: 100 }] });
    expect(v.members[0]).toMatchObject({ rateSlackPerSec: 0, failed: [] });
    expect(checkMultiTask({ device: cpu, members: [{ service: tight, batchSize: 1, ratePerSec: 100.5 }] }).failed).toEqual(['rate']);
  });
});

import { describe, expect, it } from 'vitest';
import { affineProfile } from '../profiles/latency-profile.js';
import type { ServiceSpec } from '../model/service.js';
import { planBatching } from './batching.js';
import { planDataParallel } from './data-parallel.js';

// planBatching's memory rule at its edge (weights + one item against the usable memory, inclusive) and the
// fields its input errors name; figures worked by hand.
const seg: ServiceSpec = {
  id: 'seg',
  sensitivity: 'latency',
  slo: { kind: 'latency', deadlineMs: 100 },
  memory: { weightsBytes: 5e6, perItemBytes: 2e6 },
  profiles: { cpu: affineProfile('cpu', { fixedMs: 4, perItemMs: 6 }) },
};
const noReserve = { reserveFraction: 0 };

describe('planBatching memory edge', () => {
  it('plans batch 1 on a device holding exactly the weights and one item', () => {
    const out = planBatching({ service: seg, device: { kind: 'cpu', memoryBytes: 7e6 }, demandPerSec: 10, options: noReserve });
    expect(out.feasible).toBe(true);
    if (out.feasible) expect(out.plan).toMatchObject({ batchSize: 1, memoryPerDeviceBytes: 7e6, capacityPerSec: 100 });
  });

  it('rules a smaller device out for memory, with what batch 1 needs and what is usable', () => {
    // 7,000,000 B is 6.7 MiB; 6,000,000 B is 5.7 MiB.
    expect(planBatching({ service: seg, device: { kind: 'cpu', memoryBytes: 6e6 }, demandPerSec: 10, options: noReserve })).toEqual({
      feasible: false,
      constraint: 'memory',
      reason: 'needs 6.7 MiB at batch 1, usable 5.7 MiB',
    });
  });
});

describe('allocation planners name the bad field', () => {
  const cpu = { kind: 'cpu', memoryBytes: 1e9 };
  it.each([-1, Number.NaN])('planBatching rejects demandPerSec = %d', (demandPerSec) => {
    expect(() => planBatching({ service: seg, device: cpu, demandPerSec })).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS', details: expect.objectContaining({ field: 'demandPerSec' }) }));
  });

  it('planDataParallel rejects a request strategy other than batching or multi-frame', () => {
    expect(() => planDataParallel({ service: seg, device: cpu, demandPerSec: 10, requestStrategy: 'fifo' as 'batching' })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS', details: expect.objectContaining({ field: 'requestStrategy' }) }),
    );
  });
});

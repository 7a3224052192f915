import { describe, expect, it } from 'vitest';
import { affineProfile, createProfile } from '../profiles/latency-profile.js';
import type { ServiceSpec } from '../model/service.js';
import { planBatching } from './batching.js';
import { planDataParallel } from './data-parallel.js';
import { planMultiFrame } from './multi-frame.js';
import { resolveStrategyOptions } from './strategy-options.js';

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

  it.each([0, -30, Number.POSITIVE_INFINITY])('planMultiFrame rejects rateHz = %d', (rateHz) => {
    expect(() => planMultiFrame({ service: seg, device: cpu, rateHz })).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS', details: expect.objectContaining({ field: 'rateHz' }) }));
  });

  it('planDataParallel rejects a negative demand, naming demandPerSec', () => {
    expect(() => planDataParallel({ service: seg, device: cpu, demandPerSec: -1 })).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS', details: expect.objectContaining({ field: 'demandPerSec' }) }));
  });

  it('planDataParallel stripes frames for a frequency service when no request strategy is given', () => {
    const video: ServiceSpec = { ...seg, id: 'video', sensitivity: 'frequency', slo: { kind: 'frequency', rateHz: 30, stalenessMs: 200 }, profiles: { cpu: affineProfile('cpu', { fixedMs: 10, perItemMs: 20 }) } };
    const out = planDataParallel({ service: video, device: cpu, demandPerSec: 300 });
    expect(out.feasible && [out.plan.requestStrategy, out.plan.serviceStrategy]).toEqual(['multi-frame', 'data-parallel']);
  });

  it('planDataParallel rejects a request strategy other than batching or multi-frame', () => {
    expect(() => planDataParallel({ service: seg, device: cpu, demandPerSec: 10, requestStrategy: 'fifo' as 'batching' })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS', details: expect.objectContaining({ field: 'requestStrategy' }) }),
    );
  });
});

describe('planBatching says what bounds the batch', () => {
  // 2·L(b) ≤ D with L(b) = 4 + 6b and D = 100 ms: b ≤ 7.67, so the deadline allows 7.
  const cpu = { kind: 'cpu', memoryBytes: 1e9 };
  const first = (out: ReturnType<typeof planBatching>) => (out.feasible ? out.plan.notes[0] : out.reason);

  it('the deadline', () => {
    const out = planBatching({ service: seg, device: cpu, demandPerSec: 10 });
    // Throughput b / (4 + 6b) grows with b, so the largest batch allowed is also the one chosen: one note.
    expect(out.feasible && out.plan.notes).toEqual(['batch ≤ 7 bound by deadline (D = 100 ms, 2·L(b) ≤ D)']);
  });
  it('and says so when a smaller batch sustains more items/s than the largest allowed', () => {
    // Measured 5, 6 and 20 ms at batches 1, 2 and 4: 200, 333 and 200 items/s — batch 2 is chosen under a cap of 4.
    const humped: ServiceSpec = { ...seg, profiles: { cpu: createProfile('cpu', [{ batch: 1, ms: 5 }, { batch: 2, ms: 6 }, { batch: 4, ms: 20 }]) } };
    const out = planBatching({ service: humped, device: cpu, demandPerSec: 10 });
    expect(out.feasible && [out.plan.batchSize, out.plan.notes]).toEqual([
      2,
      ['batch ≤ 4 bound by the largest measured batch (D = 100 ms, 2·L(b) ≤ D)', 'batch 2 chosen: it sustains more items/s than 4'],
    ]);
  });
  it('memory', () => {
    expect(first(planBatching({ service: seg, device: { kind: 'cpu', memoryBytes: 7e6 }, demandPerSec: 10, options: noReserve }))).toBe('batch ≤ 1 bound by memory (D = 100 ms, 2·L(b) ≤ D)');
  });
  it('maxBatch', () => {
    expect(first(planBatching({ service: seg, device: cpu, demandPerSec: 10, options: { maxBatch: 4 } }))).toBe('batch ≤ 4 bound by maxBatch (D = 100 ms, 2·L(b) ≤ D)');
  });
  it('the largest measured batch', () => {
    const measured: ServiceSpec = { ...seg, profiles: { cpu: createProfile('cpu', [1, 2, 4].map((b) => ({ batch: b, ms: 4 + 6 * b }))) } };
    expect(first(planBatching({ service: measured, device: cpu, demandPerSec: 10 }))).toBe('batch ≤ 4 bound by the largest measured batch (D = 100 ms, 2·L(b) ≤ D)');
  });
  it('and when even batch 1 misses the deadline, by how much', () => {
    // D = 10 ms: 2·L(1) = 2 · 10 = 20 ms.
    expect(planBatching({ service: { ...seg, slo: { kind: 'latency', deadlineMs: 10 } }, device: cpu, demandPerSec: 10 })).toEqual({
      feasible: false,
      constraint: 'deadline',
      reason: '2·L(1) = 20 ms exceeds D = 10 ms',
    });
  });
});

describe('replicas and options at their edges', () => {
  const cpu = { kind: 'cpu', memoryBytes: 1e9 };
  it('serves the whole demand when it needs exactly the replicas allowed', () => {
    // One replica: batches of 7 at 4 + 6·7 = 46 ms, 152.2/s; 300/s needs ceil(300 / 152.2) = 2, and 2 are allowed.
    const out = planDataParallel({ service: seg, device: cpu, demandPerSec: 300, options: { maxReplicas: 2 } });
    expect(out.feasible).toBe(true);
    if (out.feasible) {
      expect(out.plan.devices).toBe(2);
      expect(out.plan.notes[0]).toBe('2 replicas × 152.17/s for 300/s');
    }
  });

  it('rejects options that are not an object, naming them', () => {
    expect(() => resolveStrategyOptions('fast' as never)).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS', details: expect.objectContaining({ field: 'options' }) }));
  });

  it('serves part of the demand with two replicas when two are all it may use', () => {
    // 1,000/s needs 7 replicas of 152.2/s; with maxReplicas 2 the plan is 2 replicas serving 304.3/s of it.
    const out = planDataParallel({ service: seg, device: cpu, demandPerSec: 1000, options: { maxReplicas: 2 } });
    expect(out.feasible).toBe(true);
    if (out.feasible) {
      expect(out.plan.devices).toBe(2);
      expect(out.plan.capacityPerSec).toBeCloseTo(14000 / 46, 9);
    }
  });

  it('names the service id field of a service without one', () => {
    expect(() => planBatching({ service: { ...seg, id: '' }, device: cpu })).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS', details: expect.objectContaining({ field: 'service.id' }) }));
  });
});

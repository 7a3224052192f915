import { describe, expect, it } from 'vitest';
import { affineProfile } from '../profiles/latency-profile.js';
import type { ServiceSpec } from '../model/service.js';
import { allocate, comparePlans } from './allocate.js';
import type { ParallelPlan } from './plan.js';

// Cases of allocate's documented rules that the main suite reaches only in passing, each with figures worked
// by hand from the rule.
const GB = 1e9;
const kinds = [{ kind: 'cpu', memoryBytes: 4 * GB }, { kind: 'gpu', memoryBytes: 8 * GB }];
const gpuOnly: ServiceSpec = {
  id: 'seg',
  sensitivity: 'latency',
  slo: { kind: 'latency', deadlineMs: 100 },
  memory: { weightsBytes: 0.1 * GB, perItemBytes: 0.02 * GB },
  profiles: { gpu: affineProfile('gpu', { fixedMs: 2, perItemMs: 0.5 }) },
};

describe('allocate, device kinds without a profile', () => {
  it('rules out a kind the model fits but has no latency profile for, and plans nothing on it', () => {
    // 0.12 GB fits the 4 GB cpu easily: only the missing profile rules it out, once, under the request strategy.
    const a = allocate({ service: gpuOnly, demand: 50, deviceKinds: kinds });
    expect(a.infeasible).toEqual([
      { deviceKind: 'cpu', memoryBytes: 4 * GB, strategy: 'batching', reason: 'no latency profile for device kind cpu' },
    ]);
    expect(a.plans.map((p) => p.deviceKind)).toEqual(['gpu']);
  });

  it('rules such a kind out once, before any strategy is tried on it (model parallelism included)', () => {
    const a = allocate({ service: gpuOnly, demand: 50, deviceKinds: kinds, options: { modelParallelCandidates: 'always' } });
    expect(a.infeasible.filter((i) => i.deviceKind === 'cpu')).toEqual([
      { deviceKind: 'cpu', memoryBytes: 4 * GB, strategy: 'batching', reason: 'no latency profile for device kind cpu' },
    ]);
  });
});

describe('allocate, the one-device memory test', () => {
  // weights + one item = 0.12 GB; with no reserve the usable memory is the whole device.
  const oneItem = 0.1 * GB + 0.02 * GB;
  const exact = [{ kind: 'gpu', memoryBytes: oneItem }];

  it('plans on a device that holds the weights and one item exactly (the bound is inclusive)', () => {
    const a = allocate({ service: gpuOnly, demand: 50, deviceKinds: exact, options: { reserveFraction: 0 } });
    expect(a.infeasible).toEqual([]);
    expect(a.plans).toHaveLength(1);
    expect(a.plans[0]).toMatchObject({ serviceStrategy: 'single', deviceKind: 'gpu', batchSize: 1, devices: 1 });
  });

  it('rules out the single device one byte short of the weights and one item, and says so', () => {
    const a = allocate({ service: gpuOnly, demand: 50, deviceKinds: [{ kind: 'gpu', memoryBytes: oneItem - 1 }], options: { reserveFraction: 0 } });
    expect(a.infeasible).toContainEqual({ deviceKind: 'gpu', memoryBytes: oneItem - 1, strategy: 'batching', reason: 'the model does not fit one device' });
    expect(a.plans.every((p) => p.serviceStrategy === 'model-parallel')).toBe(true);
  });
});

describe('allocate, when one device is overloaded', () => {
  // Batches of 8 at 4 + 0.5·8 = 8 ms: one device serves 8 items per 8 ms, 1,000 items/s.
  const svc: ServiceSpec = { ...gpuOnly, profiles: { gpu: affineProfile('gpu', { fixedMs: 4, perItemMs: 0.5 }) } };
  const gpu = [{ kind: 'gpu', memoryBytes: 8 * GB }];
  const opts = { maxBatch: 8 };

  it('offers data parallelism only for demand beyond what one device serves: 1,000/s is not, 1,001/s is', () => {
    const at = allocate({ service: svc, demand: 1000, deviceKinds: gpu, options: opts });
    expect(at.plans.map((p) => [p.serviceStrategy, p.batchSize, p.capacityPerSec])).toEqual([['single', 8, 1000]]);
    const over = allocate({ service: svc, demand: 1001, deviceKinds: gpu, options: opts });
    expect(over.plans.map((p) => [p.serviceStrategy, p.devices])).toEqual([['single', 1], ['data-parallel', 2]]);
  });
});

describe('allocate, whole streams of a frequency service', () => {
  it('offers one device serving a single whole stream when that is all it keeps up with', () => {
    // 30 frames/s per stream; at 10 + 20·n ms a pack, the best a device does within S = 200 ms is 4 frames in
    // 90 ms (44.4/s): one whole stream, not two. 300/s overloads it, so the one-stream plan is offered.
    const video: ServiceSpec = {
      id: 'video',
      sensitivity: 'frequency',
      slo: { kind: 'frequency', rateHz: 30, stalenessMs: 200 },
      memory: { weightsBytes: 5e6, perItemBytes: 2e6 },
      profiles: { cpu: affineProfile('cpu', { fixedMs: 10, perItemMs: 20 }) },
    };
    const a = allocate({ service: video, demand: 300, deviceKinds: [{ kind: 'cpu', memoryBytes: 1e9 }] });
    const one = a.plans.find((p) => p.serviceStrategy === 'single');
    expect(one).toMatchObject({ requestStrategy: 'multi-frame', devices: 1, goodputPerDevice: 30 });
    expect(one!.notes[0]).toBe('serves 1 whole stream(s) of 30/s; place several instances for the rest');
  });
});

describe('comparePlans', () => {
  const plan = (goodputPerDevice: number, memoryPerDeviceBytes: number): ParallelPlan =>
    ({ serviceId: 's', deviceKind: 'gpu', requestStrategy: 'batching', serviceStrategy: 'single', devices: 1, batchSize: 1, capacityPerSec: 100, memoryPerDeviceBytes, expectedLatencyMs: 1, runMs: 1, goodputPerDevice, utilization: 1, notes: [] }) as ParallelPlan;

  it('treats goodputs within a relative 1e-9 as equal and ranks the smaller memory first', () => {
    // 1,000,000 and 1,000,000.0001 differ by 1e-10 of their size: a tie, so memory decides.
    const more = plan(1_000_000.0001, 2e9);
    const less = plan(1_000_000, 1e9);
    expect(comparePlans(more, less)).toBeGreaterThan(0);
    expect(comparePlans(less, more)).toBeLessThan(0);
    expect([more, less].sort(comparePlans)).toEqual([less, more]);
  });

  it('counts a difference of exactly the tolerance as a tie', () => {
    // Goodputs 0 and 1e-9: the tolerance is 1e-9 · max(1, 0, 1e-9) = 1e-9, the difference exactly that.
    expect(comparePlans(plan(1e-9, 2e9), plan(0, 1e9))).toBeGreaterThan(0);
  });

  it('ranks by goodput once the difference is beyond that tolerance, even at small goodputs', () => {
    // At goodputs near 0.5 the tolerance is 1e-9 absolute (the max is taken with 1): 0.5 vs 0.500001 differ.
    const more = plan(0.500001, 2e9);
    const less = plan(0.5, 1e9);
    expect(comparePlans(more, less)).toBeLessThan(0);
    expect(comparePlans(plan(1_000_001, 2e9), plan(1_000_000, 1e9))).toBeLessThan(0);
  });

  it('breaks a goodput and memory tie by capacity per device, then device kind, then fewer devices', () => {
    const base = plan(100, 1e9);
    const faster = { ...base, capacityPerSec: 200 };
    expect(comparePlans(faster, base)).toBeLessThan(0);
    expect(comparePlans(base, faster)).toBeGreaterThan(0);
    // Same capacity per device: two devices at 200/s rank with one at 100/s; memory is per device × devices,
    // so keep the totals equal by halving the per-device memory.
    const cpu = { ...base, deviceKind: 'cpu' };
    expect(comparePlans(cpu, base)).toBe(-1);
    expect(comparePlans(base, cpu)).toBe(1);
    const two = { ...base, devices: 2, capacityPerSec: 200, memoryPerDeviceBytes: 0.5e9 };
    expect(comparePlans(base, two)).toBeLessThan(0);
    expect(comparePlans(two, base)).toBeGreaterThan(0);
    expect(comparePlans(base, { ...base })).toBe(0);
  });
});

describe('allocate, the demand argument', () => {
  it('reports a ServiceDemand given without a service as the demand\'s service id, not a crash', () => {
    expect(() => allocate({ service: undefined as unknown as ServiceSpec, demand: { serviceId: 'seg', ratePerServer: { a: 1 } }, deviceKinds: kinds })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS', details: expect.objectContaining({ field: 'demand.serviceId' }) }),
    );
  });

  it('names the total rate of a ServiceDemand that is not a valid rate', () => {
    expect(() => allocate({ service: gpuOnly, demand: { serviceId: 'seg', ratePerServer: { a: 1, b: Number.POSITIVE_INFINITY } }, deviceKinds: kinds })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS', details: expect.objectContaining({ field: 'demand (total rate)' }) }),
    );
  });

  it.each([['a string', 'fast'], ['null', null], ['a boolean', true]])('rejects %s as the demand, naming the field', (_label, demand) => {
    expect(() => allocate({ service: gpuOnly, demand: demand as unknown as number, deviceKinds: kinds })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS', details: expect.objectContaining({ field: 'demand' }) }),
    );
  });
});

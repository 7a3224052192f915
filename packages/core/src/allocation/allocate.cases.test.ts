import { describe, expect, it } from 'vitest';
import { affineProfile } from '../profiles/latency-profile.js';
import type { ServiceSpec } from '../model/service.js';
import { allocate } from './allocate.js';

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

import { describe, expect, it } from 'vitest';
import type { ServiceSpec } from '../model/service.js';
import { placeServices } from './place-services.js';
import { affinePlan } from './testing/random-instance.js';
import type { PlacementInput } from './types.js';

const GB = 1024 ** 3;

describe('memory of a model-parallel plan', () => {
  // The weights are split over the plan's devices: each holds weights / devices plus the batch's working memory,
  // and never less than the plan's own per-device figure (here a token 1 GB, so the split decides).
  const input = (weightsGb: number): PlacementInput => {
    const llm: ServiceSpec = { id: 'llm', sensitivity: 'latency', slo: { kind: 'latency', deadlineMs: 500 }, memory: { weightsBytes: weightsGb * GB, perItemBytes: 0.05 * GB }, profiles: {} };
    const plan = { ...affinePlan(llm, 'gpu', { fixedMs: 10, perItemMs: 2, batch: 8, devices: 2 }), serviceStrategy: 'model-parallel' as const, memoryPerDeviceBytes: 1 * GB };
    return {
      servers: [{ id: 's0', devices: [{ id: 'g0', kind: 'gpu', memoryBytes: 16 * GB }, { id: 'g1', kind: 'gpu', memoryBytes: 16 * GB }] }],
      services: [llm],
      plans: { llm: [plan] },
      demand: [{ serviceId: 'llm', ratePerServer: { s0: 100 } }],
    };
  };

  it('places a 20 GB model on two 16 GB devices: 10 GB + 8 × 0.05 GB on each', () => {
    const r = placeServices(input(20), { reserveFraction: 0 });
    expect(r.instances.map((i) => i.deviceIds)).toEqual([['g0', 'g1']]);
    expect(r.services[0]!.servedPerSec).toBeCloseTo(100, 9);
  });

  it('does not place a 32 GB model there: 16 GB + 0.4 GB on each device is too much', () => {
    expect(placeServices(input(32), { reserveFraction: 0 }).instances).toEqual([]);
  });
});

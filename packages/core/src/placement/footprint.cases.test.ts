import { describe, expect, it } from 'vitest';
import { placementService } from '../testing/placement-fixture.js';
import type { ServiceSpec } from '../model/service.js';
import { findPlacementViolations } from './find-violations.js';
import { placeServices } from './place-services.js';
import { affinePlan } from './testing/random-instance.js';
import type { PlacementInput } from './types.js';

// An item's footprint (candidates.ts): the memory it holds on each device and whether it takes its devices for
// itself. Each plan states a token 1 GB per device, so the footprint's own rule decides; no reserve.

const GB = 1024 ** 3;
const service = (id: string, weightsGb: number, perItemGb: number): ServiceSpec => placementService(id, { weightsGb, perItemGb, deadlineMs: 500 });
const gpus = (n: number) => [{ id: 's0', devices: Array.from({ length: n }, (_, d) => ({ id: `g${d}`, kind: 'gpu', memoryBytes: 16 * GB })) }];
/** batch 8, 26 ms a batch: about 307.7 items/s per device. */
const planOf = (s: ServiceSpec, devices: number, serviceStrategy: 'single' | 'data-parallel' | 'model-parallel') => ({
  ...affinePlan(s, 'gpu', { fixedMs: 10, perItemMs: 2, batch: 8, devices }),
  serviceStrategy,
  memoryPerDeviceBytes: 1 * GB,
});
const NO_RESERVE = { reserveFraction: 0 } as const;

describe('memory on each device', () => {
  it('a data-parallel plan holds the whole weights on each of its devices: 20 GB does not fit two 16 GB devices', () => {
    // Split over two devices (model-parallel) it would fit: candidates.cases.test.ts. Replicated, it does not.
    const s = service('dp', 20, 0.05);
    const input: PlacementInput = { servers: gpus(2), services: [s], plans: { dp: [planOf(s, 2, 'data-parallel')] }, demand: [{ serviceId: 'dp', ratePerServer: { s0: 100 } }] };
    expect(placeServices(input, NO_RESERVE).instances).toEqual([]);
  });

  it('working memory is per item times the batch: 15 GB + 8 × 0.2 GB is too much for 16 GB, 15 GB + 8 × 0.1 GB fits', () => {
    const place = (perItemGb: number) => {
      const s = service('a', 15, perItemGb);
      return placeServices({ servers: gpus(1), services: [s], plans: { a: [planOf(s, 1, 'single')] }, demand: [{ serviceId: 'a', ratePerServer: { s0: 100 } }] }, NO_RESERVE);
    };
    expect(place(0.2).instances).toEqual([]);
    expect(place(0.1).instances.map((i) => i.deviceIds)).toEqual([['g0']]);
  });
});

describe('exclusive devices', () => {
  // With multi-task on (the default) single-device plans share a device; a plan that is not `single` never shares,
  // whatever its device count — here a running one-device data-parallel instance serving 50 of its 307.7 items/s.
  const [a, b] = [service('a', 1, 0.05), service('b', 1, 0.05)];
  const input = (strategy: 'single' | 'data-parallel'): PlacementInput => ({
    servers: gpus(1),
    services: [a, b],
    plans: { a: [planOf(a, 1, strategy)], b: [planOf(b, 1, 'single')] },
    demand: [
      { serviceId: 'a', ratePerServer: { s0: 50 } },
      { serviceId: 'b', ratePerServer: { s0: 50 } },
    ],
    current: [{ instanceId: 'a-1', serviceId: 'a', plan: planOf(a, 1, strategy), serverId: 's0', deviceIds: ['g0'], capacityPerSec: 50 }],
  });

  it('a running one-device data-parallel instance keeps its device to itself: nothing joins it', () => {
    const r = placeServices(input('data-parallel'), NO_RESERVE);
    expect(r.instances.map((i) => i.instanceId)).toEqual(['a-1']);
    expect(r.goodputPerSec).toBeCloseTo(50, 9);
  });

  it('the same instance with a single-device plan shares the device with the other service', () => {
    const r = placeServices(input('single'), NO_RESERVE);
    expect(r.instances.map((i) => i.serviceId).sort()).toEqual(['a', 'b']);
    expect(r.goodputPerSec).toBeCloseTo(100, 9);
    expect(findPlacementViolations(input('single'), r.instances, NO_RESERVE)).toEqual([]);
  });
});

describe('memory to the byte', () => {
  it('places an item whose memory equals the device’s usable memory exactly', () => {
    // 15.6 GB of weights + 8 × 0.05 GB = 16 GB on a 16 GB device with no reserve: it fits, with nothing to spare.
    const s = service('a', 15.6, 0.05);
    const plan = { ...planOf(s, 1, 'single'), memoryPerDeviceBytes: 15.6 * GB + 8 * 0.05 * GB };
    const input: PlacementInput = { servers: gpus(1), services: [s], plans: { a: [plan] }, demand: [{ serviceId: 'a', ratePerServer: { s0: 100 } }] };
    expect(15.6 * GB + 8 * 0.05 * GB).toBe(16 * GB);
    expect(placeServices(input, NO_RESERVE).instances.map((i) => i.deviceIds)).toEqual([['g0']]);
  });
});

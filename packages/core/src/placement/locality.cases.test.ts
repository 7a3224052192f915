import { describe, expect, it } from 'vitest';
import type { ServiceSpec } from '../model/service.js';
import { placeServices } from './place-services.js';
import { affinePlan } from './testing/random-instance.js';
import type { PlacementInput } from './types.js';

// The locality objective's reach rule at its edge: demand entering at an access server is served by an instance
// when the round trip plus the plan's expected latency is within the SLO, equality included (docs/placement.md).

const GB = 1024 ** 3;
const a: ServiceSpec = {
  id: 'a',
  sensitivity: 'latency',
  slo: { kind: 'latency', deadlineMs: 200 },
  memory: { weightsBytes: GB, perItemBytes: 0.05 * GB },
  loadTimeMs: 1000,
  profiles: {},
};
/** One batch of 8 runs 26 ms; the plan's expected latency is two runs, 52 ms: 148 ms are left for the round trip. */
const plan = affinePlan(a, 'gpu', { fixedMs: 10, perItemMs: 2, batch: 8 });
/** Demand enters at s0, which has no device; the only device is on s1, `oneWayMs` away each way. */
const input = (oneWayMs: number): PlacementInput => ({
  servers: [
    { id: 's0', devices: [] },
    { id: 's1', devices: [{ id: 'g0', kind: 'gpu', memoryBytes: 16 * GB }] },
  ],
  services: [a],
  plans: { a: [plan] },
  demand: [{ serviceId: 'a', ratePerServer: { s0: 100 } }],
  delaysMs: { s0: { s0: 0, s1: oneWayMs }, s1: { s0: oneWayMs, s1: 0 } },
});

describe('locality reach at the SLO', () => {
  it('serves demand whose round trip plus expected latency is exactly the deadline', () => {
    expect(plan.expectedLatencyMs).toBe(52);
    expect(placeServices(input(74)).goodputPerSec).toBeCloseTo(100, 9);
  });

  it('serves none of it a millisecond further', () => {
    expect(placeServices(input(74.5)).goodputPerSec).toBe(0);
  });
});

describe('capacity and claims with locality on', () => {
  /** Demand and the device both on s0: every instance reaches all of it. */
  const near = (rate: number, current: PlacementInput['current'] = []): PlacementInput => ({
    servers: [{ id: 's0', devices: [{ id: 'g0', kind: 'gpu', memoryBytes: 16 * GB }] }],
    services: [a],
    plans: { a: [plan] },
    demand: rate > 0 ? [{ serviceId: 'a', ratePerServer: { s0: rate } }] : [],
    delaysMs: { s0: { s0: 0 } },
    current,
  });

  it('trims a new instance’s claim to the 100 items/s it serves', () => {
    const r = placeServices(near(100));
    expect(r.instances).toHaveLength(1);
    expect(r.instances[0]!.capacityPerSec).toBeCloseTo(100, 9);
    expect(r.services[0]!.capacityPerSec).toBeCloseTo(100, 9);
  });

  it('reports no capacity for a service whose only instance was removed', () => {
    const running = { instanceId: 'old', serviceId: 'a', plan, serverId: 's0', deviceIds: ['g0'] };
    const r = placeServices(near(0, [running]));
    expect(r.instances).toEqual([]);
    expect(r.services[0]!.capacityPerSec).toBe(0);
  });
});

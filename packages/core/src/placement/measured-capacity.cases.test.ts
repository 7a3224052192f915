import { describe, expect, it } from 'vitest';
import { placementService } from '../testing/placement-fixture.js';
import type { ServerSpec } from '../model/device.js';
import type { ServiceSpec } from '../model/service.js';
import { findPlacementViolations } from './find-violations.js';
import { placeServices } from './place-services.js';
import { affinePlan } from './testing/random-instance.js';
import type { PlacedInstance, PlacementInput, PlacementResult } from './types.js';

// A kept instance with a measured capacity (`measuredCapacityPerSec`) supplies `measured / claim-it-was-measured-at`
// of whatever it claims, through every pass that changes or undoes its claim: the grow, the eviction's undo, the
// merge. Each case is small enough to work out by hand; the figures are items/s (per-item values, no floor).

const GB = 1024 ** 3;
const PER_ITEM = { valueWeighting: 'per-item', minServedShare: 0 } as const;

const service = (id: string, weightsGb: number): ServiceSpec => placementService(id, { weightsGb, loadTimeMs: 3000 });
const a = service('a', 1);
/** 10 ms + 2 ms per item at batch 8: ≈ 307.7 items/s on a whole device. One object, shared by kept and new items. */
const planA = affinePlan(a, 'gpu', { fixedMs: 10, perItemMs: 2, batch: 8 });
const gpus = (server: string, n: number): ServerSpec => ({
  id: server,
  devices: Array.from({ length: n }, (_, d) => ({ id: `g${d}`, kind: 'gpu', memoryBytes: 16 * GB })),
});
/** a-1 on s0:g0, claiming 60 items/s, measured at `measured`. */
const measuredA = (measured: number | undefined): PlacedInstance => ({
  instanceId: 'a-1',
  serviceId: 'a',
  plan: planA,
  serverId: 's0',
  deviceIds: ['g0'],
  capacityPerSec: 60,
  ...(measured === undefined ? {} : { measuredCapacityPerSec: measured }),
});
const claims = (r: PlacementResult): [string, number | undefined][] => r.instances.map((i) => [i.instanceId, i.capacityPerSec]);
const serviceA = (r: PlacementResult) => r.services.find((s) => s.serviceId === 'a')!;

describe('growing a measured instance on a device of its own', () => {
  // One device, so no second instance of `a` can help. A grow adds the unserved demand to the claim; the instance
  // supplies measured / 60 of it. The warm start grows once, the greedy round once more (a grow alone starts no
  // further round): claim₁ = 60 + (120 − m), served₁ = m/60 · claim₁; claim₂ = claim₁ + (120 − served₁).
  for (const [measured, claim, served] of [
    [54, 132.6, 119.34], // 126 → 113.4 served; + 6.6
    [30, 195, 97.5], // 150 → 75 served; + 45
  ] as const) {
    it(`claims ${claim} and serves ${served} items/s when measured at ${measured} of 60`, () => {
      const input: PlacementInput = {
        servers: [gpus('s0', 1)],
        services: [a],
        plans: { a: [planA] },
        demand: [{ serviceId: 'a', ratePerServer: { s0: 120 } }],
        current: [measuredA(measured)],
      };
      const r = placeServices(input, PER_ITEM);
      expect(r.instances).toHaveLength(1);
      expect(r.instances[0]!.capacityPerSec).toBeCloseTo(claim, 9);
      expect(serviceA(r).servedPerSec).toBeCloseTo(served, 9);
      expect(serviceA(r).capacityPerSec).toBeCloseTo(served, 9);
    });
  }
});

describe('an eviction tried and undone', () => {
  it('puts a grown measured instance back with the supply it had, not its bare measurement', () => {
    // a-1 (measured 30 of 60) grows to 150 (+90 unserved), serving 75; a new instance on g1 takes the 45 left. y
    // (20 GB) fits no 16 GB device and starves: the eviction search tries each of a's instances as a victim (each
    // costs less than y's gap), finds nothing for y, and puts them back. a-1 must supply 75 again, not 30 — with
    // 30 the next passes would see a gap of 45 and grow and add again.
    const y = service('y', 20);
    const input: PlacementInput = {
      servers: [gpus('s0', 2)],
      services: [a, y],
      plans: { a: [planA], y: [affinePlan(y, 'gpu', { fixedMs: 10, perItemMs: 2, batch: 8 })] },
      demand: [
        { serviceId: 'a', ratePerServer: { s0: 120 } },
        { serviceId: 'y', ratePerServer: { s0: 1000 } },
      ],
      current: [measuredA(30)],
    };
    const r = placeServices(input, PER_ITEM);
    expect(findPlacementViolations(input, r.instances)).toEqual([]);
    expect(claims(r)).toEqual([
      ['a-1', 150],
      ['a@s0:g1', 45],
    ]);
    expect(serviceA(r).servedPerSec).toBeCloseTo(120, 9);
    expect(serviceA(r).capacityPerSec).toBeCloseTo(120, 9);
  });
});

describe('merging a new partial share into a measured instance', () => {
  // a-1 (claim 60) shares g0 with z-1, idle (no demand for z) and claiming 100 items/s of the device's cycle.
  // Demand for a is 90. Measured at 30, a-1 grows to 120 (+60 unserved), serving 60; a new instance on g1 takes
  // the 30 left, at a switching cost of 30 · 3 s load / 30 s period = 3. The prune then removes z-1, which leaves
  // g0 room to absorb the new instance's claim — but a-1 would serve only half of it (15 of 30): the merge would
  // lose goodput, and must not happen (objective 90 − 3 = 87; merged, a-1 ends at 172.5 after two more grows,
  // serving 86.25).
  const z = service('z', 1);
  const input = (measured: number | undefined): PlacementInput => ({
    servers: [gpus('s0', 2)],
    services: [a, z],
    plans: { a: [planA], z: [affinePlan(z, 'gpu', { fixedMs: 10, perItemMs: 2, batch: 8 })] },
    demand: [
      { serviceId: 'a', ratePerServer: { s0: 90 } },
      { serviceId: 'z', ratePerServer: { s0: 0 } },
    ],
    current: [
      { instanceId: 'z-1', serviceId: 'z', plan: affinePlan(z, 'gpu', { fixedMs: 10, perItemMs: 2, batch: 8 }), serverId: 's0', deviceIds: ['g0'], capacityPerSec: 100 },
      measuredA(measured),
    ],
  });

  it('keeps the new instance when the measured one would supply less of its claim', () => {
    const r = placeServices(input(30), PER_ITEM);
    expect(findPlacementViolations(input(30), r.instances)).toEqual([]);
    expect(claims(r)).toEqual([
      ['a-1', 120],
      ['a@s0:g1', 30],
    ]);
    expect(serviceA(r).servedPerSec).toBeCloseTo(90, 9);
    expect(r.switchCost).toBeCloseTo(3, 9);
    expect(r.objective).toBeCloseTo(87, 9);
  });

  for (const measured of [60, undefined]) {
    it(`loads nothing new when the instance supplies all it claims (${measured === undefined ? 'not measured' : 'measured at 60'})`, () => {
      // The same cluster with a-1 serving its whole claim: a-1 grows to 90 at once in the warm start.
      const r = placeServices(input(measured), PER_ITEM);
      expect(claims(r)).toEqual([['a-1', 90]]);
      expect(serviceA(r).servedPerSec).toBeCloseTo(90, 9);
      expect(r.objective).toBeCloseTo(90, 9);
    });
  }
});

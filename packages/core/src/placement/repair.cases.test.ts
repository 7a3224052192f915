import { describe, expect, it } from 'vitest';
import { gpuServer, placementService, runningInstance, servedPerService } from '../testing/placement-fixture.js';
import type { ServiceSpec } from '../model/service.js';
import { findPlacementViolations } from './find-violations.js';
import { placeServices } from './place-services.js';
import { affinePlan } from './testing/random-instance.js';
import type { PlacedInstance, PlacementInput } from './types.js';

// The passes after greedy (trim, grow, merge shares; evict for a starving service, one item or a whole group),
// seen through placeServices only: each case is a cluster small enough to work out by hand.

/** Items valued by the service weight, no floor: the figures below are plain items/s. */
const PER_ITEM = { valueWeighting: 'per-item', minServedShare: 0 } as const;

const service = (id: string, weightsGb: number): ServiceSpec => placementService(id, { weightsGb, loadTimeMs: 3000 });
/** 10 ms + 2 ms per item at batch 8: one batch runs 26 ms, 1000 · 8 / 26 ≈ 307.7 items/s per device. */
const PER_DEVICE = 8000 / 26;
const plan = (s: ServiceSpec, devices = 1) => affinePlan(s, 'gpu', { fixedMs: 10, perItemMs: 2, batch: 8, devices });
const gpus = gpuServer;
const running = (instanceId: string, s: ServiceSpec, serverId: string, device: string): PlacedInstance => runningInstance(instanceId, s, plan(s), serverId, device);
const served = servedPerService;

describe('trimming a new instance’s claim', () => {
  const a = service('a', 1);
  const input: PlacementInput = {
    servers: [gpus('s0', 1)],
    services: [a],
    plans: { a: [plan(a)] },
    demand: [{ serviceId: 'a', ratePerServer: { s0: 100 } }],
  };

  it('claims only the demand it serves on a shared device', () => {
    const r = placeServices(input);
    expect(r.instances).toHaveLength(1);
    expect(r.instances[0]!.capacityPerSec).toBeCloseTo(100, 9);
    expect(served(r)['a']).toBeCloseTo(100, 9);
  });

  it('keeps the whole device’s rate on an exclusive device (multiTask off)', () => {
    const r = placeServices(input, { multiTask: false });
    expect(r.instances[0]!.capacityPerSec).toBeCloseTo(PER_DEVICE, 9);
    expect(served(r)['a']).toBeCloseTo(100, 9);
  });

  it('leaves a running instance’s share as it is, so feeding it back changes nothing', () => {
    const current = [running('a-1', a, 's0', 'g0')];
    const r = placeServices({ ...input, current });
    expect(r.instances).toEqual(current);
    expect(r.changes).toEqual([]);
  });

  it('trims every new instance, the first placed included', () => {
    // Two services on two devices of one server, each well below a device: both claims shrink to the demand.
    const b = service('b', 1);
    const two: PlacementInput = {
      servers: [gpus('s0', 2)],
      services: [a, b],
      plans: { a: [plan(a)], b: [plan(b)] },
      demand: [
        { serviceId: 'a', ratePerServer: { s0: 100 } },
        { serviceId: 'b', ratePerServer: { s0: 40 } },
      ],
    };
    const r = placeServices(two);
    const claims = Object.fromEntries(r.instances.map((i) => [i.serviceId, i.capacityPerSec]));
    expect(claims['a']).toBeCloseTo(100, 9);
    expect(claims['b']).toBeCloseTo(40, 9);
    expect(findPlacementViolations(two, r.instances)).toEqual([]);
  });
});

describe('evicting for a starving multi-device group', () => {
  const g = service('g', 10);
  const c = service('c', 10);
  const d = service('d', 10);
  const groupPlan = plan(g, 2);

  it('clears both devices of a server for a group that gains more than the evictions lose', () => {
    // g needs two devices at once (500 items/s on ≈ 615); c and d, 5 items/s each, hold one device each. Evicting
    // one alone frees no room for g: only the group repair can place it.
    const input: PlacementInput = {
      servers: [gpus('s0', 2)],
      services: [g, c, d],
      plans: { g: [groupPlan], c: [plan(c)], d: [plan(d)] },
      demand: [
        { serviceId: 'g', ratePerServer: { s0: 500 } },
        { serviceId: 'c', ratePerServer: { s0: 5 } },
        { serviceId: 'd', ratePerServer: { s0: 5 } },
      ],
      current: [running('c-1', c, 's0', 'g0'), running('d-1', d, 's0', 'g1')],
    };
    const r = placeServices(input, PER_ITEM);
    expect(findPlacementViolations(input, r.instances)).toEqual([]);
    expect(r.instances.map((i) => [i.serviceId, i.deviceIds.join('+')])).toEqual([['g', 'g0+g1']]);
    expect(served(r)).toEqual({ g: 500, c: 0, d: 0 });
    // Both occupants are drained and freed before the group loads (the memory is needed).
    expect(r.changes.map((s) => `${s.action}:${s.instanceId}`)).toEqual([
      'drain:c-1',
      'free:c-1',
      'drain:d-1',
      'free:d-1',
      'load:g@s0:g0+g1',
      'ready:g@s0:g0+g1',
    ]);
  });

  it('makes no swap when the group gains less than the evictions lose', () => {
    const input: PlacementInput = {
      servers: [gpus('s0', 2)],
      services: [g, c, d],
      plans: { g: [groupPlan], c: [plan(c)], d: [plan(d)] },
      demand: [
        { serviceId: 'g', ratePerServer: { s0: 150 } },
        { serviceId: 'c', ratePerServer: { s0: 100 } },
        { serviceId: 'd', ratePerServer: { s0: 100 } },
      ],
      current: [running('c-1', c, 's0', 'g0'), running('d-1', d, 's0', 'g1')],
    };
    const r = placeServices(input, PER_ITEM);
    expect(r.instances.map((i) => i.instanceId)).toEqual(['c-1', 'd-1']);
    expect(r.changes).toEqual([]);
  });

  it('puts everything back when the joint loss of the evictions exceeds the gain, though each alone looked cheap', () => {
    // c serves 400 items/s from two instances (≈ 308 each): removing either alone loses 92, both 400. g would
    // gain 300 (less its switching cost): worth more than 92 + 92, less than 400. Nothing may change.
    const input: PlacementInput = {
      servers: [gpus('s0', 2)],
      services: [g, c],
      plans: { g: [groupPlan], c: [plan(c)] },
      demand: [
        { serviceId: 'g', ratePerServer: { s0: 300 } },
        { serviceId: 'c', ratePerServer: { s0: 400 } },
      ],
      current: [running('c-1', c, 's0', 'g0'), running('c-2', c, 's0', 'g1')],
    };
    const r = placeServices(input, PER_ITEM);
    expect(r.instances).toEqual(input.current);
    expect(served(r)).toEqual({ g: 0, c: 400 });
    expect(r.goodputPerSec).toBe(400);
    expect(r.changes).toEqual([]);
  });

  for (const cheapOn of ['s0', 's1']) {
    it(`clears the server whose occupants are cheapest to evict (cheap ones on ${cheapOn})`, () => {
      // Each server's two devices hold two services; those on the cheap server serve 5 items/s each, those on
      // the other 30. g (500 items/s) goes where the loss is 10, not 60.
      const dearOn = cheapOn === 's0' ? 's1' : 's0';
      const e = service('e', 10);
      const f = service('f', 10);
      const input: PlacementInput = {
        servers: [gpus('s0', 2), gpus('s1', 2)],
        services: [g, c, d, e, f],
        plans: { g: [groupPlan], c: [plan(c)], d: [plan(d)], e: [plan(e)], f: [plan(f)] },
        demand: [
          { serviceId: 'g', ratePerServer: { s0: 500 } },
          { serviceId: 'c', ratePerServer: { [dearOn]: 30 } },
          { serviceId: 'd', ratePerServer: { [dearOn]: 30 } },
          { serviceId: 'e', ratePerServer: { [cheapOn]: 5 } },
          { serviceId: 'f', ratePerServer: { [cheapOn]: 5 } },
        ],
        current: [running('c-1', c, dearOn, 'g0'), running('d-1', d, dearOn, 'g1'), running('e-1', e, cheapOn, 'g0'), running('f-1', f, cheapOn, 'g1')],
      };
      const r = placeServices(input, PER_ITEM);
      expect(findPlacementViolations(input, r.instances)).toEqual([]);
      const group = r.instances.find((i) => i.serviceId === 'g')!;
      expect([group.serverId, group.deviceIds]).toEqual([cheapOn, ['g0', 'g1']]);
      expect(r.instances.filter((i) => i.serviceId !== 'g').map((i) => i.instanceId)).toEqual(['c-1', 'd-1']);
      expect(served(r)).toEqual({ g: 500, c: 30, d: 30, e: 0, f: 0 });
    });
  }
});

const a = service('a', 1);
const b = service('b', 1);
const pairOf = (rateA: number, rateB = 0): PlacementInput => ({
  servers: [gpus('s0', 2)],
  services: [a, b],
  plans: { a: [plan(a)], b: [plan(b)] },
  demand: [
    { serviceId: 'a', ratePerServer: { s0: rateA } },
    { serviceId: 'b', ratePerServer: { s0: rateB } },
  ],
});

describe('merging and growing partial shares', () => {
  for (const [rateA, rateB] of [
    [60, 30],
    [120, 100],
  ] as const) {
    it(`serves ${rateA} + ${rateB} items/s from one instance per service, both on one device`, () => {
      // Together they keep a device busy (rateA + rateB) · 26 / 8000 of the time, well under its cycle: one
      // device holds both, and no service is split over two partial shares.
      const input = pairOf(rateA, rateB);
      const r = placeServices(input);
      expect(findPlacementViolations(input, r.instances)).toEqual([]);
      expect(r.instances.map((i) => i.serviceId).sort()).toEqual(['a', 'b']);
      expect(new Set(r.instances.map((i) => i.deviceIds.join('+'))).size).toBe(1);
      const claims = Object.fromEntries(r.instances.map((i) => [i.serviceId, i.capacityPerSec]));
      expect(claims['a']).toBeCloseTo(rateA, 9);
      expect(claims['b']).toBeCloseTo(rateB, 9);
    });
  }

  it('grows a running instance’s share to new demand instead of loading another instance', () => {
    const input: PlacementInput = { ...pairOf(120), current: [{ ...running('a-1', a, 's0', 'g0'), capacityPerSec: 60 }] };
    const r = placeServices(input);
    expect(r.instances).toEqual([{ ...running('a-1', a, 's0', 'g0'), capacityPerSec: 120 }]);
    expect(r.changes).toEqual([]);
    expect(served(r)['a']).toBeCloseTo(120, 9);
  });
});

describe('growing a running instance whose capacity was measured', () => {
  // a-1 claims 60 items/s and was measured at `measured`: it serves measured / 60 of whatever it claims, however
  // often its share grows or absorbs another in one placement. Demand is 120 items/s.
  for (const measured of [54, 30]) {
    it(`serves ${measured} / 60 of its final claim (measured at ${measured})`, () => {
      const input: PlacementInput = { ...pairOf(120), current: [{ ...running('a-1', a, 's0', 'g0'), capacityPerSec: 60, measuredCapacityPerSec: measured }] };
      const r = placeServices(input);
      const kept = r.instances.find((i) => i.instanceId === 'a-1')!;
      // It grew (the stale measurement is dropped from the output) ...
      expect(kept.capacityPerSec).toBeGreaterThan(60);
      expect(kept.measuredCapacityPerSec).toBeUndefined();
      // ... and what a service is served is its instances' supply: the kept one at its measured rate.
      const others = r.instances.filter((i) => i !== kept).reduce((sum, i) => sum + i.capacityPerSec!, 0);
      expect(served(r)['a']).toBeCloseTo(Math.min(120, (measured / 60) * kept.capacityPerSec! + others), 9);
      // At the least the first grow's worth: 60 plus the 120 − measured unserved at the start.
      expect(served(r)['a']).toBeGreaterThanOrEqual((measured / 60) * (180 - measured) - 1e-9);
    });
  }
});

describe('groups first only as a restart', () => {
  it('without restarts keeps the plain greedy order: two single-device services worth more than the group', () => {
    // c and d serve 300 items/s each on a device of their own (600 in all); the group g would serve 500 on both.
    // Greedy takes c and d (300 per device against g's 250), the best placement here. Placing groups first is
    // only one of the restarts, which `restarts: 0` turns off.
    const [g, c, d] = [service('g', 10), service('c', 10), service('d', 10)];
    const input: PlacementInput = {
      servers: [gpus('s0', 2)],
      services: [g, c, d],
      plans: { g: [plan(g, 2)], c: [plan(c)], d: [plan(d)] },
      demand: [
        { serviceId: 'g', ratePerServer: { s0: 500 } },
        { serviceId: 'c', ratePerServer: { s0: 300 } },
        { serviceId: 'd', ratePerServer: { s0: 300 } },
      ],
    };
    for (const restarts of [0, 3]) {
      const r = placeServices(input, { ...PER_ITEM, restarts });
      expect(r.instances.map((i) => i.serviceId).sort()).toEqual(['c', 'd']);
      expect(r.goodputPerSec).toBeCloseTo(600, 9);
    }
  });
});

describe('warm start', () => {
  it('drops a running instance that names a device its server does not have, and frees it without a drain', () => {
    const a = service('a', 1);
    const input: PlacementInput = {
      servers: [gpus('s0', 2)],
      services: [a],
      plans: { a: [plan(a)] },
      demand: [{ serviceId: 'a', ratePerServer: { s0: 100 } }],
      current: [running('a-1', a, 's0', 'g7')],
    };
    const r = placeServices(input);
    expect(r.instances.map((i) => i.instanceId)).not.toContain('a-1');
    expect(served(r)['a']).toBeCloseTo(100, 9);
    const gone = r.changes.filter((s) => s.instanceId === 'a-1');
    expect(gone.map((s) => s.action)).toEqual(['free']);
    expect(findPlacementViolations(input, r.instances)).toEqual([]);
  });
});

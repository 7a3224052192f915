import { describe, expect, it } from 'vitest';
import { gpuServer, placementService, runningInstance, servedPerService } from '../testing/placement-fixture.js';
import type { ServerSpec } from '../model/device.js';
import type { ServiceSpec } from '../model/service.js';
import { findPlacementViolations } from './find-violations.js';
import { placeServices } from './place-services.js';
import { affinePlan } from './testing/random-instance.js';
import type { PlacedInstance, PlacementInput, PlacementResult } from './types.js';

// The group repair (a starving service's multi-device group gets a whole server's devices, its occupants evicted),
// seen through placeServices: which devices it clears, when it gives up, and what it leaves behind. Figures are exact
// in binary floating point: a batch of 8 runs 2 + 8 · 1 = 10 ms, 800 items/s per device; items valued by the
// service weight (1), no floor, no switching cost unless a case says so.

const GB = 1024 ** 3;
const EXACT = { valueWeighting: 'per-item', minServedShare: 0, switchWeight: 0 } as const;
/** 10 GB of weights on 16 GB devices: one instance per device. */
const service = (id: string): ServiceSpec => placementService(id, { weightsGb: 10 });
const plan = (s: ServiceSpec, devices = 1) => affinePlan(s, 'gpu', { fixedMs: 2, perItemMs: 1, batch: 8, devices });
const gpus = gpuServer;
const running = (instanceId: string, s: ServiceSpec, serverId: string, device: string): PlacedInstance => runningInstance(instanceId, s, plan(s), serverId, device);
const served = servedPerService;
const where = (r: PlacementResult): string[] => r.instances.map((i) => `${i.instanceId}@${i.serverId}:${i.deviceIds.join('+')}`);

const [g, h, c, d, e] = ['g', 'h', 'c', 'd', 'e'].map(service) as [ServiceSpec, ServiceSpec, ServiceSpec, ServiceSpec, ServiceSpec];
const demand = (rates: Record<string, Record<string, number>>) => Object.entries(rates).map(([serviceId, ratePerServer]) => ({ serviceId, ratePerServer }));

describe('group repair: when a swap is made', () => {
  it('makes none when the group gains exactly what the evictions lose together', () => {
    // c serves 1000 items/s from two instances of 800: removing either loses 200, both 1000. g (1600 items/s on
    // both devices) would serve its 1000: a gain equal to the joint loss is no gain, and nothing may change.
    const input: PlacementInput = {
      servers: [gpus('s0', 2)],
      services: [g, c],
      plans: { g: [plan(g, 2)], c: [plan(c)] },
      demand: demand({ g: { s0: 1000 }, c: { s0: 1000 } }),
      current: [running('c-1', c, 's0', 'g0'), running('c-2', c, 's0', 'g1')],
    };
    const r = placeServices(input, EXACT);
    expect(r.instances).toEqual(input.current);
    expect(r.changes).toEqual([]);
    expect(served(r)).toEqual({ g: 0, c: 1000 });
  });

  it('makes none when the group gains exactly epsilon more than the evictions lose', () => {
    const input: PlacementInput = {
      servers: [gpus('s0', 2)],
      services: [g, c],
      plans: { g: [plan(g, 2)], c: [plan(c)] },
      demand: demand({ g: { s0: 1100 }, c: { s0: 1000 } }),
      current: [running('c-1', c, 's0', 'g0'), running('c-2', c, 's0', 'g1')],
    };
    const r = placeServices(input, { ...EXACT, epsilon: 100 });
    expect(r.instances).toEqual(input.current);
    expect(r.changes).toEqual([]);
  });

  it('makes it when the group gains more than that, by any margin above epsilon', () => {
    const input: PlacementInput = {
      servers: [gpus('s0', 2)],
      services: [g, c],
      plans: { g: [plan(g, 2)], c: [plan(c)] },
      demand: demand({ g: { s0: 1001 }, c: { s0: 1000 } }),
      current: [running('c-1', c, 's0', 'g0'), running('c-2', c, 's0', 'g1')],
    };
    const r = placeServices(input, EXACT);
    expect(where(r)).toEqual(['g@s0:g0+g1@s0:g0+g1']);
    expect(served(r)).toEqual({ g: 1001, c: 0 });
  });

  it('tries the next server when the cheapest-looking one fails its joint-loss check', () => {
    // On s0, c's two instances look cheap one at a time (200 each, 400) but lose 1000 together; on s1, d and e
    // lose 300 each, 600 together. g gains 900: not worth s0 (1000), worth s1 (600). Then the single-item eviction
    // gives c-1's device to d (c loses 200 of its 1000, d gains 300; d before e at equal gain, in input order).
    const input: PlacementInput = {
      servers: [gpus('s0', 2), gpus('s1', 2)],
      services: [g, c, d, e],
      plans: { g: [plan(g, 2)], c: [plan(c)], d: [plan(d)], e: [plan(e)] },
      demand: demand({ g: { s0: 900 }, c: { s0: 1000 }, d: { s1: 300 }, e: { s1: 300 } }),
      current: [running('c-1', c, 's0', 'g0'), running('c-2', c, 's0', 'g1'), running('d-1', d, 's1', 'g0'), running('e-1', e, 's1', 'g1')],
    };
    const r = placeServices(input, EXACT);
    expect(findPlacementViolations(input, r.instances)).toEqual([]);
    expect(where(r)).toEqual(['c-2@s0:g1', 'g@s1:g0+g1@s1:g0+g1', 'd@s0:g0@s0:g0']);
    expect(served(r)).toEqual({ g: 900, c: 800, d: 300, e: 0 });
  });

  it('clears a server where one of the group’s devices is free and the other holds a starving service’s instance', () => {
    // g (6 GB a device) needs both devices of s0; g1 has 8 GB, too small for c (10 GB), and stays free. c, short of
    // its 2000 items/s, is no victim for the single-item eviction (a starving service's instance never is); the
    // group repair prices g1 at nothing and c-1 at its 800 items/s, less than g's 1200.
    const small = placementService('g', { weightsGb: 6 });
    const input: PlacementInput = {
      servers: [{ id: 's0', devices: [{ id: 'g0', kind: 'gpu', memoryBytes: 16 * GB }, { id: 'g1', kind: 'gpu', memoryBytes: 8 * GB }] }],
      services: [small, c],
      plans: { g: [plan(small, 2)], c: [plan(c)] },
      demand: demand({ g: { s0: 1200 }, c: { s0: 2000 } }),
      current: [running('c-1', c, 's0', 'g0')],
    };
    const r = placeServices(input, EXACT);
    expect(findPlacementViolations(input, r.instances)).toEqual([]);
    expect(where(r)).toEqual(['g@s0:g0+g1@s0:g0+g1']);
    expect(served(r)).toEqual({ g: 1200, c: 0 });
  });
});

describe('group repair: after a swap', () => {
  it('re-places an evicted service where only it fits, in the next round', () => {
    // c also has a CPU plan (50 items/s); g runs on the GPUs only. g takes both GPUs from c-1 and d-1 (c and d
    // serve 50 each, g gains 1200), and the round after puts c on the CPU, which nothing else could use.
    const cpu = affinePlan(c, 'cpu', { fixedMs: 10, perItemMs: 10, batch: 1 });
    const servers: ServerSpec[] = [{ ...gpus('s0', 2), devices: [...gpus('s0', 2).devices, { id: 'c0', kind: 'cpu', memoryBytes: 16 * GB }] }];
    const input: PlacementInput = {
      servers,
      services: [g, c, d],
      plans: { g: [plan(g, 2)], c: [plan(c), cpu], d: [plan(d)] },
      demand: demand({ g: { s0: 1200 }, c: { s0: 50 }, d: { s0: 50 } }),
      current: [running('c-1', c, 's0', 'g0'), running('d-1', d, 's0', 'g1')],
    };
    const r = placeServices(input, EXACT);
    expect(findPlacementViolations(input, r.instances)).toEqual([]);
    expect(where(r).sort()).toEqual(['c@s0:c0@s0:c0', 'g@s0:g0+g1@s0:g0+g1']);
    expect(served(r)).toEqual({ g: 1200, c: 50, d: 0 });
  });
});

describe('group repair: which devices of a server it clears', () => {
  for (const [label, rates, cleared, stays] of [
    ['the two cheapest occupants, wherever they sit', [300, 5, 10], 'g1+g2', 'c-1'],
    ['the two cheapest occupants, the dear one last', [5, 10, 300], 'g0+g1', 'e-1'],
    ['the lowest devices when all cost the same', [50, 50, 50], 'g0+g1', 'e-1'],
  ] as const) {
    it(label, () => {
      // Three devices, one occupant each serving rates[i] items/s; g needs two devices and gains 1200. g0 has
      // more memory than the others, so the server's device list (smallest memory first) starts at g1.
      const memoryGb = [24, 16, 16];
      const input: PlacementInput = {
        servers: [{ id: 's0', devices: memoryGb.map((gb, i) => ({ id: `g${i}`, kind: 'gpu', memoryBytes: gb * GB })) }],
        services: [g, c, d, e],
        plans: { g: [plan(g, 2)], c: [plan(c)], d: [plan(d)], e: [plan(e)] },
        demand: demand({ g: { s0: 1200 }, c: { s0: rates[0] }, d: { s0: rates[1] }, e: { s0: rates[2] } }),
        current: [running('c-1', c, 's0', 'g0'), running('d-1', d, 's0', 'g1'), running('e-1', e, 's0', 'g2')],
      };
      const r = placeServices(input, EXACT);
      expect(findPlacementViolations(input, r.instances)).toEqual([]);
      const group = r.instances.find((i) => i.serviceId === 'g')!;
      expect(group.deviceIds.join('+')).toBe(cleared);
      expect(r.instances.filter((i) => i.serviceId !== 'g').map((i) => i.instanceId)).toEqual([stays]);
    });
  }
});

describe('group repair: what a failed try leaves', () => {
  it('puts the occupants back whole, so a second starving group sees them as they were', () => {
    // g and h both need s0's two devices and gain 900 each; c loses 1000 if both its instances go. Neither swap
    // pays: the first try puts c back, and the second must price c as it is (not as the first try left it).
    const input: PlacementInput = {
      servers: [gpus('s0', 2)],
      services: [g, h, c],
      plans: { g: [plan(g, 2)], h: [plan(h, 2)], c: [plan(c)] },
      demand: demand({ g: { s0: 900 }, h: { s0: 900 }, c: { s0: 1000 } }),
      current: [running('c-1', c, 's0', 'g0'), running('c-2', c, 's0', 'g1')],
    };
    const r = placeServices(input, EXACT);
    expect(r.instances).toEqual(input.current);
    expect(r.changes).toEqual([]);
    expect(served(r)).toEqual({ g: 0, h: 0, c: 1000 });
  });
});

import { describe, expect, it } from 'vitest';
import { isEparaError } from '../errors/epara-error.js';
import { gpuBatchPlan, placementService } from '../testing/placement-fixture.js';
import type { ServiceSpec } from '../model/service.js';
import { buildPlacementModel, fairShareCapacity, type DeviceNode } from './model.js';
import { resolvePlacementOptions, type PlacementOptions } from './options.js';
import type { PlacementInput } from './types.js';

// The placement model built from an input, field by field, with figures worked from docs/placement.md: usable
// memory after the reserve, device classes, demand per access server (rates, streams and backlog), value
// weights, floors, round trips.

const service = (id: string, over: Partial<ServiceSpec> = {}): ServiceSpec => placementService(id, { memory: { weightsBytes: 400, perItemBytes: 10 }, ...over });
const plan = gpuBatchPlan;
const model = (input: Partial<PlacementInput>, options: PlacementOptions = {}) =>
  buildPlacementModel({ servers: [], services: [], plans: {}, demand: [], ...input }, resolvePlacementOptions(options));

describe('buildPlacementModel: devices', () => {
  const servers: PlacementInput['servers'] = [
    {
      id: 'a',
      devices: [
        { id: 'big', kind: 'gpu', memoryBytes: 2000 },
        { id: 'small', kind: 'gpu', memoryBytes: 1000 },
        { id: 'small2', kind: 'gpu', memoryBytes: 1000 },
        { id: 'fast', kind: 'gpu', memoryBytes: 1000, speedClass: 2 },
        { id: 'cpu', kind: 'cpu', memoryBytes: 1000 },
        { id: 'dead', kind: 'gpu', memoryBytes: 1000, healthy: false },
      ],
    },
    { id: 'b', healthy: false, devices: [{ id: 'g', kind: 'gpu', memoryBytes: 1000 }] },
  ];

  it('keeps memory after the reserve, and health from the device and its server', () => {
    const m = model({ servers }, { reserveFraction: 0.25 });
    expect(m.devices.map((d) => [d.server, d.id, d.kind, d.usableBytes, d.healthy])).toEqual([
      [0, 'big', 'gpu', 1500, true],
      [0, 'small', 'gpu', 750, true],
      [0, 'small2', 'gpu', 750, true],
      [0, 'fast', 'gpu', 750, true],
      [0, 'cpu', 'cpu', 750, true],
      [0, 'dead', 'gpu', 750, false],
      [1, 'g', 'gpu', 750, false],
    ]);
    expect(m.serverHealthy).toEqual([true, false]);
    expect(m.serverIndex.get('b')).toBe(1);
    expect(m.deviceIndex.get('0:small2')).toBe(2);
    expect(m.deviceIndex.get('1:g')).toBe(6);
  });

  it('groups healthy devices of one kind, memory and speed class per server, smallest first', () => {
    const m = model({ servers }, { reserveFraction: 0 });
    expect(m.classes.map((c) => [c.server, c.kind, c.usableBytes, [...c.devices]])).toEqual([
      [0, 'gpu', 1000, [1, 2]],
      [0, 'gpu', 1000, [3]],
      [0, 'cpu', 1000, [4]],
      [0, 'gpu', 2000, [0]],
    ]);
  });
});

describe('buildPlacementModel: services', () => {
  it('adds up rates, streams and backlog per access server, drops zero rates, sorts access servers', () => {
    const m = model(
      {
        servers: [{ id: 's0', devices: [] }, { id: 's1', devices: [] }, { id: 's2', devices: [] }],
        services: [service('a'), service('b')],
        plans: { a: [plan('a')] },
        demand: [{ serviceId: 'a', ratePerServer: { s2: 10, s0: 0, s1: 5 }, streams: [{ accessServer: 's1', rateHz: 2 }, { accessServer: 's2', rateHz: 0 }] }],
        // 300 items waiting over a 30 s period: 10 more items/s at s2; none at s0 (zero backlog)
        current: [
          { instanceId: 'x', serviceId: 'a', plan: plan('a'), serverId: 's2', deviceIds: ['g'], backlogItems: 100 },
          { instanceId: 'y', serviceId: 'a', plan: plan('a'), serverId: 's2', deviceIds: ['h'], backlogItems: 200 },
          { instanceId: 'z', serviceId: 'a', plan: plan('a'), serverId: 's0', deviceIds: ['g'], backlogItems: 0 },
        ],
      },
      { periodMs: 30_000 },
    );
    const [a, b] = m.services;
    expect(a!.access).toEqual(['s1', 's2']);
    expect(a!.accessRate).toEqual([7, 20]);
    expect(a!.totalDemand).toBe(27);
    expect(a!.plans).toHaveLength(1);
    expect(b!.access).toEqual([]);
    expect(b!.totalDemand).toBe(0);
    expect(b!.plans).toEqual([]);
    expect(m.serviceIndex.get('b')).toBe(1);
  });

  it('takes the SLO, network budget, load time, interference and weight of each service', () => {
    const m = model(
      {
        services: [
          service('lat', { networkBudgetMs: 30, loadTimeMs: 500, colocationSlowdown: 0.5, weight: 3 }),
          service('freq', { sensitivity: 'frequency', slo: { kind: 'frequency', rateHz: 30, stalenessMs: 100 } }),
        ],
      },
      { colocationSlowdown: 0.2, valueWeighting: 'per-item', floorBonus: 7 },
    );
    const [lat, freq] = m.services;
    expect(lat).toMatchObject({ latencySensitive: true, sloMs: 200, cycleBudgetMs: 170, loadTimeMs: 500, slowdown: 0.5, weight: 3, floorBonus: 7 });
    expect(freq).toMatchObject({ latencySensitive: false, sloMs: 100, cycleBudgetMs: 100, loadTimeMs: 0, slowdown: 0.2, weight: 1 });
  });

  const two = (options: PlacementOptions) =>
    model(
      {
        servers: [{ id: 's0', devices: [0, 1, 2, 3].map((d) => ({ id: `g${d}`, kind: 'gpu', memoryBytes: 1000 })) }],
        services: [service('a', { weight: 2 }), service('b'), service('idle')],
        plans: { a: [plan('a', { capacityPerSec: 100 })], b: [plan('b', { capacityPerSec: 50 })] },
        demand: [
          { serviceId: 'a', ratePerServer: { s0: 10 } },
          { serviceId: 'b', ratePerServer: { s0: 30 } },
        ],
      },
      options,
    ).services.map((s) => ({ weight: s.weight, floor: s.floorPerSec }));

  it('values offered load: each service’s weight scaled by the mean demand of the loaded services over its own', () => {
    // Mean demand (10 + 30) / 2 = 20: a's weight 2 × 20 / 10, b's 1 × 20 / 30; the idle service keeps its own.
    const [a, b, idle] = two({ minServedShare: 0 });
    expect(a!.weight).toBeCloseTo(4, 12);
    expect(b!.weight).toBeCloseTo(2 / 3, 12);
    expect(idle!.weight).toBe(1);
    expect(two({ minServedShare: 0, valueWeighting: 'per-item' }).map((s) => s.weight)).toEqual([2, 1, 1]);
  });

  it('floors by load: items per item, a floor item worth its offered-load value with the bonus', () => {
    const nodes = model(
      {
        servers: [{ id: 's0', devices: [0, 1, 2, 3].map((d) => ({ id: `g${d}`, kind: 'gpu', memoryBytes: 1000 })) }],
        services: [service('a', { weight: 2 }), service('b'), service('idle')],
        plans: { a: [plan('a', { capacityPerSec: 100 })], b: [plan('b', { capacityPerSec: 50 })] },
        demand: [
          { serviceId: 'a', ratePerServer: { s0: 10 } },
          { serviceId: 'b', ratePerServer: { s0: 30 } },
        ],
      },
      { valueWeighting: 'floors-by-load', floorBonus: 10 },
    ).services;
    // Per item: weights 2, 1, 1. Offered load (mean demand 20): 4 and 2/3, so a floor item is worth 4 × 11 and
    // 2/3 × 11, which weight × (1 + floorBonus) gives with bonuses 21 and 19/3 − 1.
    expect(nodes.map((n) => n.weight)).toEqual([2, 1, 1]);
    expect(nodes[0]!.floorBonus).toBeCloseTo(21, 12);
    expect(nodes[1]!.floorBonus).toBeCloseTo(22 / 3 - 1, 12);
    expect(nodes[2]!.floorBonus).toBe(10);
    expect(nodes.map((n) => n.floorPerSec)).toEqual([5, 15, 0]);
    // A service with far more demand than the mean would get a negative bonus; it is held at 0 (concavity).
    const heavy = model(
      {
        services: [service('a'), service('b')],
        demand: [
          { serviceId: 'a', ratePerServer: { s0: 1 } },
          { serviceId: 'b', ratePerServer: { s0: 1000 } },
        ],
      },
      { valueWeighting: 'floors-by-load', floorBonus: 0 },
    ).services;
    expect(heavy[0]!.floorBonus).toBeCloseTo(500.5 - 1, 9);
    expect(heavy[1]!.floorBonus).toBe(0);
  });

  it('floors a share of demand; none for a service without demand', () => {
    // Half the demand: 5 and 15. The devices' capacity per service: 4 × 100 = 400 for a, 4 × 50 = 200 for b,
    // over the two loaded services: caps of 200 and 100, neither binding (a binding cap: below).
    expect(two({ minServedShare: 0.5 }).map((s) => s.floor)).toEqual([5, 15, 0]);
    expect(two({ minServedShare: 0.5, floorFairShare: false }).map((s) => s.floor)).toEqual([5, 15, 0]);
  });
});

describe('fairShareCapacity', () => {
  const dev = (over: Partial<DeviceNode> = {}): DeviceNode => ({ server: 0, id: 'g', kind: 'gpu', usableBytes: 1000, healthy: true, ...over });

  it('counts each healthy device once, on the best plan of its kind that fits it, per device of the plan', () => {
    const plans = [plan('a', { capacityPerSec: 100 }), plan('a', { capacityPerSec: 300, memoryPerDeviceBytes: 1500 }), plan('a', { capacityPerSec: 240, devices: 2, serviceStrategy: 'data-parallel' }), plan('a', { deviceKind: 'cpu', capacityPerSec: 40 })];
    // gpu 1000: max(100, 240 / 2) = 120; gpu 2000: 300; cpu: 40; unhealthy: 0; an npu no plan has: 0.
    const devices = [dev(), dev({ usableBytes: 2000 }), dev({ kind: 'cpu' }), dev({ healthy: false, usableBytes: 2000 }), dev({ kind: 'npu' })];
    expect(fairShareCapacity(plans, devices)).toBe(460);
    expect(fairShareCapacity(plans, [dev({ usableBytes: 480 })])).toBe(120);
    expect(fairShareCapacity(plans, [dev({ usableBytes: 479 })])).toBe(0);
    expect(fairShareCapacity([], devices)).toBe(0);
  });

  it('caps a floor at the loaded services’ equal share of it', () => {
    const m = model(
      {
        servers: [{ id: 's0', devices: [{ id: 'g0', kind: 'gpu', memoryBytes: 1000 }] }],
        services: [service('a'), service('b')],
        plans: { a: [plan('a', { capacityPerSec: 100 })], b: [plan('b', { capacityPerSec: 100 })] },
        demand: [
          { serviceId: 'a', ratePerServer: { s0: 400 } },
          { serviceId: 'b', ratePerServer: { s0: 40 } },
        ],
      },
      { minServedShare: 0.5, reserveFraction: 0 },
    );
    // Floors of half the demand, 200 and 20, each capped at 100 items/s over two services = 50.
    expect(m.services.map((s) => s.floorPerSec)).toEqual([50, 20]);
  });
});

describe('buildPlacementModel: round trips', () => {
  const servers = [{ id: 'a', devices: [] }, { id: 'b', devices: [] }, { id: 'c', devices: [] }];

  it('is 0 everywhere without delays', () => {
    expect(Array.from(model({ servers }).roundTripRow('a'))).toEqual([0, 0, 0]);
  });

  it('adds both directions of a matrix; a missing entry is unreachable, a missing self entry 0', () => {
    const m = model({ servers, delaysMs: { a: { b: 5, c: 7 }, b: { a: 3, b: 1 } } });
    expect(Array.from(m.roundTripRow('a'))).toEqual([0, 8, Number.POSITIVE_INFINITY]);
    expect(Array.from(m.roundTripRow('b'))).toEqual([8, 2, Number.POSITIVE_INFINITY]);
    expect(m.roundTripMs('b', 0)).toBe(8);
  });

  it('adds both directions of a function, and refuses a negative or non-numeric delay naming the pair', () => {
    const m = model({ servers, delaysMs: (from, to) => (from === to ? 0 : from < to ? 1 : 10) });
    expect(Array.from(m.roundTripRow('b'))).toEqual([11, 0, 11]);
    const bad = model({ servers, delaysMs: (_from, to) => (to === 'c' ? -1 : 0) });
    let field: unknown;
    try {
      bad.roundTripRow('a');
    } catch (err) {
      if (isEparaError(err)) field = err.details['field'];
    }
    expect(field).toBe('delaysMs(a, c)');
    const nan = model({ servers, delaysMs: () => Number.NaN });
    expect(() => nan.roundTripRow('a')).toThrow();
  });
});

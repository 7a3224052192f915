import { describe, expect, it } from 'vitest';
import type { ParallelPlan } from '../allocation/plan.js';
import type { ServerSpec } from '../model/device.js';
import type { ServiceSpec } from '../model/service.js';
import { gpuBatchPlan, placementService } from '../testing/placement-fixture.js';
import { UNDO_ALIVE, UNDO_FLOW, UndoLog } from './flow-undo.js';
import { findPlacementViolations } from './find-violations.js';
import { placeServices } from './place-services.js';
import type { PlacedInstance, PlacementInput } from './types.js';

// The independent checker on placements built by hand, one broken rule at a time, with memory in plain bytes
// (no reserve, no co-location slowdown) so every figure below is worked out from the rules of docs/placement.md.

const NO_RESERVE = { reserveFraction: 0, colocationSlowdown: 0 } as const;

const service = (id: string, deadlineMs = 200): ServiceSpec =>
  placementService(id, { deadlineMs, memory: { weightsBytes: 400, perItemBytes: 10 }, loadTimeMs: 1000 });

/** One batch of 8 runs 26 ms: 8000 / 26 items/s alone; 400 + 10 × 8 = 480 bytes on each device. */
const plan = (serviceId: string, over: Partial<ParallelPlan> = {}): ParallelPlan =>
  gpuBatchPlan(serviceId, { capacityPerSec: 8000 / 26, goodputPerDevice: 8000 / 26, ...over });

const server = (id: string, memoryBytes = 1000, extra: Partial<ServerSpec['devices'][number]> = {}): ServerSpec => ({
  id,
  devices: [
    { id: 'g0', kind: 'gpu', memoryBytes, ...extra },
    { id: 'c0', kind: 'cpu', memoryBytes },
  ],
});

const input = (services: ServiceSpec[], servers: ServerSpec[] = [server('s0')]): PlacementInput => ({
  servers,
  services,
  plans: Object.fromEntries(services.map((s) => [s.id, [plan(s.id)]])),
  demand: [],
});

const at = (instanceId: string, serviceId: string, deviceIds: string[], over: Partial<PlacedInstance> = {}): PlacedInstance => ({
  instanceId,
  serviceId,
  plan: plan(serviceId),
  serverId: 's0',
  deviceIds,
  ...over,
});

describe('findPlacementViolations, one rule at a time', () => {
  it('accepts a valid placement', () => {
    expect(findPlacementViolations(input([service('a')]), [at('x', 'a', ['g0'])], NO_RESERVE)).toEqual([]);
  });

  it('names an instance of an unknown service or on an unknown server, and checks nothing else of it', () => {
    const inp = input([service('a')]);
    expect(findPlacementViolations(inp, [at('x', 'zzz', ['g0'], { plan: plan('zzz') })], NO_RESERVE)).toEqual(['x: unknown service or server']);
    expect(findPlacementViolations(inp, [at('y', 'a', ['g0'], { serverId: 'gone' })], NO_RESERVE)).toEqual(['y: unknown service or server']);
  });

  it('names an instance whose device count is not its plan’s', () => {
    const inp = input([service('a')]);
    expect(findPlacementViolations(inp, [at('x', 'a', [])], NO_RESERVE)).toEqual(['x: 0 devices, plan needs 1']);
  });

  it('names an unknown device, an unhealthy one and one of the wrong kind', () => {
    const inp = input([service('a')], [server('s0', 1000, { healthy: false })]);
    expect(findPlacementViolations(inp, [at('x', 'a', ['g9'])], NO_RESERVE)).toEqual(['x: unknown device s0/g9']);
    expect(findPlacementViolations(inp, [at('y', 'a', ['g0'])], NO_RESERVE)).toEqual(['y: on unhealthy device s0/g0']);
    expect(findPlacementViolations(inp, [at('z', 'a', ['c0'])], NO_RESERVE)).toEqual(['z: device c0 is cpu, plan needs gpu']);
  });

  it('counts memory per device against what the reserve leaves: exactly full fits, one byte over does not', () => {
    const inp = input([service('a'), service('b')], [server('s0', 960), server('s1', 959)]);
    const two = (serverId: string): PlacedInstance[] => [
      at(`a-${serverId}`, 'a', ['g0'], { serverId, capacityPerSec: 50 }),
      at(`b-${serverId}`, 'b', ['g0'], { serverId, capacityPerSec: 50 }),
    ];
    expect(findPlacementViolations(inp, two('s0'), NO_RESERVE)).toEqual([]);
    expect(findPlacementViolations(inp, two('s1'), NO_RESERVE)).toEqual(['s1/g0: memory 960 > usable 959']);
    // The default reserve keeps 10 %: 960 bytes of a 1,000-byte device are over the 900 usable.
    expect(findPlacementViolations(input([service('a'), service('b')]), two('s0'), { colocationSlowdown: 0 })).toEqual(['s0/g0: memory 960 > usable 900']);
  });

  it('names an exclusive instance that shares its device, and two instances of one service on a device', () => {
    const inp = input([service('a'), service('b')], [server('s0', 2000)]);
    const pair = [at('x', 'a', ['g0'], { capacityPerSec: 50 }), at('y', 'b', ['g0'], { capacityPerSec: 50 })];
    expect(findPlacementViolations(inp, pair, { ...NO_RESERVE, multiTask: false })).toEqual(['s0/g0: exclusive instance shares the device']);
    const twins = [at('x', 'a', ['g0'], { capacityPerSec: 50 }), at('y', 'a', ['g0'], { capacityPerSec: 50 })];
    expect(findPlacementViolations(inp, twins, NO_RESERVE)).toEqual(['s0/g0: two instances of one service']);
  });

  it('checks the duty cycle of a shared device: each needs its 26 ms run plus the 52 ms cycle within its deadline', () => {
    // Two items at 100 items/s: the cycle is 26 + 26 = 52 ms; a rate of 100 allows a cycle of 8000 / 100 = 80 ms;
    // a deadline D allows D − 26 ms. D = 78 is exactly enough; D = 77 is not (the round-robin rule alone).
    const check = (deadlineMs: number): string[] =>
      findPlacementViolations(
        input([service('a', deadlineMs), service('b', 200)], [server('s0', 2000)]),
        [at('x', 'a', ['g0'], { capacityPerSec: 100 }), at('y', 'b', ['g0'], { capacityPerSec: 100 })],
        { ...NO_RESERVE, residualBlocking: false },
      );
    expect(check(78)).toEqual([]);
    expect(check(77)).toEqual(['s0/g0: duty cycle does not fit']);
  });

  it('checks the co-location price of a latency service on a shared device, apart from the duty cycle', () => {
    // The same pair: a's request waits the longest run (26 ms), then its own (26), within D × (1 − b's share 0.325).
    // 52 ≤ 78 × 0.675 = 52.65 fits; at 76.9 ms (51.9) it does not, while the round-robin rule still does at 78.
    const check = (deadlineMs: number): string[] =>
      findPlacementViolations(
        input([service('a', deadlineMs), service('b', 200)], [server('s0', 2000)]),
        [at('x', 'a', ['g0'], { capacityPerSec: 100 }), at('y', 'b', ['g0'], { capacityPerSec: 100 })],
        NO_RESERVE,
      );
    expect(check(78)).toEqual([]);
    expect(check(76.9)).toEqual(['s0/g0: duty cycle does not fit', "s0/g0: co-location price: a latency service's wait (longest batch on the device, then its own) does not fit its budget"]);
  });

  it('reads the assigned capacity (not the plan’s) for the duty cycle', () => {
    // At the plan's 307.7 items/s a cycle of at most 26 ms is allowed, less than the two runs' 52.
    const inp = input([service('a'), service('b')], [server('s0', 2000)]);
    const full = [at('x', 'a', ['g0']), at('y', 'b', ['g0'], { capacityPerSec: 100 })];
    expect(findPlacementViolations(inp, full, { ...NO_RESERVE, residualBlocking: false })).toEqual(['s0/g0: duty cycle does not fit']);
  });
});

describe('the guarantee stated for the options', () => {
  const GB = 1024 ** 3;
  const a = service('a');
  const big: ServiceSpec = { ...a, memory: { weightsBytes: GB, perItemBytes: 0 } };
  const groupInput: PlacementInput = {
    servers: [{ id: 's0', devices: [0, 1, 2].map((d) => ({ id: `g${d}`, kind: 'gpu', memoryBytes: 16 * GB })) }],
    services: [big],
    plans: { a: [plan('a', { serviceStrategy: 'data-parallel', devices: 3, capacityPerSec: 900, memoryPerDeviceBytes: GB })] },
    demand: [{ serviceId: 'a', ratePerServer: { s0: 100 } }],
  };

  it('is a p-system bound of 1/(p + 1) for exclusive groups of up to p devices at unit cost', () => {
    const g = placeServices(groupInput, { multiTask: false, costModel: 'unit', switchWeight: 0 }).guarantee;
    expect(g.structure).toBe('p-system');
    expect(g.ratio).toBeCloseTo(1 / 4, 12);
    expect(g.statement).toContain('up to 3 devices form a 3-system');
    expect(g.statement).toContain('at least 1/4 of the optimum');
  });

  it('has no clean bound for groups at resource cost', () => {
    expect(placeServices(groupInput, { multiTask: false, switchWeight: 0 }).guarantee).toMatchObject({ structure: 'multi-knapsack', ratio: null });
  });

  it('states the bound for the stateless problem only when a kept instance or a switching cost shapes the result', () => {
    const stateless = placeServices(groupInput, { multiTask: false, costModel: 'unit', switchWeight: 0 });
    expect(stateless.guarantee.statement).not.toContain('not monotone');
    const warm = placeServices({ ...groupInput, current: stateless.instances }, { multiTask: false, costModel: 'unit', switchWeight: 0 });
    expect(warm.guarantee.statement).toContain('not monotone');
    expect(placeServices(groupInput, { multiTask: false, costModel: 'unit' }).guarantee.statement).toContain('not monotone');
  });
});

describe('UndoLog', () => {
  it('keeps every record in order past its first buffer, tag last', () => {
    const log = new UndoLog();
    const records = 300; // 300 × 4 numbers: past 256, then past 512 and 1,024
    for (let i = 0; i < records; i++) log.flow(i, i + 1, i / 2);
    log.alive(7);
    expect(log.n).toBe(records * 4 + 2);
    for (const i of [0, 63, 64, 127, 128, 299]) {
      expect(Array.from(log.a.subarray(4 * i, 4 * i + 4))).toEqual([i, i + 1, i / 2, UNDO_FLOW]);
    }
    expect(Array.from(log.a.subarray(records * 4, records * 4 + 2))).toEqual([7, UNDO_ALIVE]);
  });
});

describe('findPlacementViolations, an exclusive group beside a shared instance', () => {
  it('names the device a two-device group shares with a single-device instance, multi-task on', () => {
    const inp = input([service('a'), service('b')], [server('s0', 2000)]);
    const group = at('x', 'a', ['g0', 'c0'], { plan: plan('a', { serviceStrategy: 'data-parallel', devices: 2, deviceKind: 'gpu' }) });
    const single = at('y', 'b', ['g0'], { capacityPerSec: 50 });
    expect(findPlacementViolations(inp, [group, single], NO_RESERVE)).toContain('s0/g0: exclusive instance shares the device');
  });
});

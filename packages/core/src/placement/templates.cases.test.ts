import { describe, expect, it } from 'vitest';
import { placementService } from '../testing/placement-fixture.js';
import type { ParallelPlan } from '../allocation/plan.js';
import type { ServerSpec } from '../model/device.js';
import type { ServiceSpec } from '../model/service.js';
import { affineProfile } from '../profiles/latency-profile.js';
import { findPlacementViolations } from './find-violations.js';
import { placeServices } from './place-services.js';
import { affinePlan } from './testing/random-instance.js';
import type { PlacementInput } from './types.js';

// Which candidates placement generates (candidates.ts: buildTemplates) and which devices a candidate takes, seen
// through placeServices. `stats.candidates` counts the templates: service × plan × share × device class (one
// template spans every server with that class: no delays here, so locality is off). Every figure is worked by
// hand from the rule; no reserve, so a device's usable memory is its memory.

const GB = 1024 ** 3;
const NO_RESERVE = { reserveFraction: 0 } as const;
const service = (id: string, weightsGb: number, over: Partial<ServiceSpec> = {}): ServiceSpec =>
  placementService(id, { weightsGb, perItemGb: 0, deadlineMs: 500, ...over });
/** batch 8 in 26 ms: 307.7 items/s per device; memory = the weights (no per-item memory). */
const planOf = (s: ServiceSpec, kind = 'gpu', devices = 1): ParallelPlan => affinePlan(s, kind, { fixedMs: 10, perItemMs: 2, batch: 8, devices });
const device = (id: string, gb: number, kind = 'gpu', healthy = true) => ({ id, kind, memoryBytes: gb * GB, healthy });
const server = (id: string, ...devices: ReturnType<typeof device>[]): ServerSpec => ({ id, devices });
const demand = (id: string, rate: number, at = 's0') => ({ serviceId: id, ratePerServer: { [at]: rate } });
const input = (servers: ServerSpec[], services: ServiceSpec[], rates: Record<string, number>, plans?: Record<string, ParallelPlan[]>): PlacementInput => ({
  servers,
  services,
  plans: plans ?? Object.fromEntries(services.map((s) => [s.id, [planOf(s)]])),
  demand: Object.entries(rates).map(([id, r]) => demand(id, r)),
});
/** Shares 1 and ¼, no batch variants unless asked. */
const candidates = (inp: PlacementInput, over: Record<string, unknown> = {}) =>
  placeServices(inp, { ...NO_RESERVE, shareLevels: [1, 0.25], batchVariants: 0, ...over }).stats.candidates;

describe('services that get candidates', () => {
  const gpu16 = [server('s0', device('g0', 16))];

  it('a service without demand gets none, and is no partner for another’s partial share', () => {
    // a alone: its whole device only (a ¼ share of a needs a partner on the device to be worth offering).
    const a = service('a', 2);
    const idle = service('idle', 2);
    expect(candidates(input(gpu16, [a, idle], { a: 30 }))).toBe(1);
    expect(candidates(input(gpu16, [a, idle], { a: 30, idle: 0 }))).toBe(1);
    // With demand, idle is a service like a: each gets the whole device and a ¼ share (the other its partner).
    expect(candidates(input(gpu16, [a, idle], { a: 30, idle: 30 }))).toBe(4);
  });

  it('a service of weight 0 gets none: its goodput is worth nothing', () => {
    const a = service('a', 2);
    const free = service('free', 2, { weight: 0 });
    expect(candidates(input(gpu16, [a, free], { a: 30, free: 30 }))).toBe(1);
  });
});

describe('share levels', () => {
  it('a one-device data-parallel plan is an exclusive group: the whole device only, and no partner', () => {
    const a = service('a', 2);
    const b = service('b', 2);
    const dp: ParallelPlan = { ...planOf(a), serviceStrategy: 'data-parallel' };
    // a: one group template; b: the whole device (a's group cannot share it, so b's ¼ share has no partner).
    expect(candidates(input([server('s0', device('g0', 16))], [a, b], { a: 30, b: 30 }, { a: [dp], b: [planOf(b)] }))).toBe(2);
  });

  it('a two-device group gets one template, at the whole plan’s capacity', () => {
    const a = service('a', 2);
    const inp = input([server('s0', device('g0', 16), device('g1', 16))], [a], { a: 30 }, { a: [planOf(a, 'gpu', 2)] });
    expect(candidates(inp)).toBe(1);
    expect(placeServices(inp, NO_RESERVE).services[0]!.capacityPerSec).toBeCloseTo((2 * 8000) / 26, 6);
  });

  it('without multi-task every item takes a whole device: no partial shares', () => {
    const a = service('a', 2);
    const b = service('b', 2);
    expect(candidates(input([server('s0', device('g0', 16))], [a, b], { a: 30, b: 30 }), { multiTask: false })).toBe(2);
    expect(candidates(input([server('s0', device('g0', 16))], [a, b], { a: 30, b: 30 }))).toBe(4);
  });
});

describe('partners for a partial share', () => {
  // A ¼ share is offered on a device only where an item of another service fits beside it: memory and duty cycle.
  it('two services whose weights fill the device exactly pair; 1 GB more and they do not', () => {
    const pair = (gbEach: number) => {
      const [a, b] = [service('a', gbEach), service('b', gbEach)];
      return candidates(input([server('s0', device('g0', 16))], [a, b], { a: 30, b: 30 }));
    };
    expect(pair(8)).toBe(4);
    expect(pair(9)).toBe(2);
  });

  it('a service is not its own partner', () => {
    const a = service('a', 2);
    expect(candidates(input([server('s0', device('g0', 16))], [a], { a: 30 }))).toBe(1);
  });

  it('two services whose round-robin cycle misses a deadline do not pair', () => {
    // Alone, each runs a 26 ms batch within its 60 ms deadline (worst case 52 ms). Together the cycle is 52 ms, and a
    // request that just missed its turn waits it out and runs: 52 + 26 = 78 ms > 60 ms.
    const tight = { slo: { kind: 'latency' as const, deadlineMs: 60 } };
    const [a, b] = [service('a', 2, tight), service('b', 2, tight)];
    expect(candidates(input([server('s0', device('g0', 16))], [a, b], { a: 30, b: 30 }))).toBe(2);
  });
});

describe('batch variants at a whole device', () => {
  // 1 GB of weights and 0.5 GB per item: batch 16 needs 9 GB, its variants batch 8 5 GB and batch 4 3 GB. Alone on
  // a device a variant serves less than its allocator plan, so it is offered at the whole device only where that
  // plan does not fit.
  const profile = affineProfile('gpu', { fixedMs: 10, perItemMs: 2 });
  const s = service('s', 1, { memory: { weightsBytes: GB, perItemBytes: 0.5 * GB }, profiles: { gpu: profile } });
  const inp = (gb: number) => input([server('s0', device('g0', gb))], [s], { s: 50 }, { s: [affinePlan(s, 'gpu', { fixedMs: 10, perItemMs: 2, batch: 16 })] });

  it('none where the allocator’s plan fits to the byte', () => {
    expect(candidates(inp(9), { batchVariants: 2 })).toBe(1);
  });

  it('both where it does not', () => {
    expect(candidates(inp(8), { batchVariants: 2 })).toBe(2);
  });
});

describe('device classes and pools', () => {
  it('a service that fits a 16 GB and a 32 GB device takes the 16 GB one (best fit), whichever server lists first', () => {
    const a = service('a', 10);
    const big = service('big', 20);
    for (const servers of [
      [server('s0', device('g0', 32)), server('s1', device('g0', 16))],
      [server('s0', device('g0', 16)), server('s1', device('g0', 32))],
    ]) {
      const r = placeServices(input(servers, [a], { a: 30 }), NO_RESERVE);
      expect(r.instances.map((i) => `${i.serverId}/${i.deviceIds.join('+')}`)).toEqual([`${servers.find((x) => x.devices[0]!.memoryBytes === 16 * GB)!.id}/g0`]);
      // and the 32 GB device stays free for the model only it can hold
      const both = placeServices({ ...input(servers, [a, big], { a: 30 }), demand: [demand('a', 30), demand('big', 30)] }, NO_RESERVE);
      expect(both.services.map((x) => x.servedPerSec)).toEqual([30, 30]);
    }
  });

  it('a two-device group takes the two smallest devices that fit, leaving the large one free', () => {
    const group = service('group', 10);
    const big = service('big', 24);
    const servers = [server('s0', device('g0', 32), device('g1', 16), device('g2', 16))];
    const plans = { group: [planOf(group, 'gpu', 2)], big: [planOf(big)] };
    const r = placeServices(input(servers, [group], { group: 30 }, { group: plans.group }), NO_RESERVE);
    expect(r.instances.map((i) => i.deviceIds)).toEqual([['g1', 'g2']]);
    const both = placeServices(input(servers, [group, big], { group: 30, big: 30 }, plans), NO_RESERVE);
    expect(both.services.map((x) => x.servedPerSec)).toEqual([30, 30]);
  });

  it('a group whose memory per device equals the devices’ memory is placed', () => {
    const group = service('group', 16);
    const r = placeServices(input([server('s0', device('g0', 16), device('g1', 16))], [group], { group: 30 }, { group: [planOf(group, 'gpu', 2)] }), NO_RESERVE);
    expect(r.instances.map((i) => i.deviceIds)).toEqual([['g0', 'g1']]);
  });

  it('a group gets no candidate on a server without enough healthy devices that fit', () => {
    const group = service('group', 12);
    const plans = { group: [planOf(group, 'gpu', 2)] };
    expect(candidates(input([server('s0', device('g0', 16), device('g1', 16, 'gpu', false))], [group], { group: 30 }, plans))).toBe(0);
    expect(candidates(input([server('s0', device('g0', 16), device('g1', 8))], [group], { group: 30 }, plans))).toBe(0);
    expect(candidates(input([server('s0', device('g0', 16), device('g1', 16))], [group], { group: 30 }, plans))).toBe(1);
  });

  it('groups of different kinds each take devices of their own kind', () => {
    const onGpu = service('onGpu', 4);
    const onNpu = service('onNpu', 4);
    const servers = [server('s0', device('g0', 16), device('g1', 16), device('n0', 16, 'npu'), device('n1', 16, 'npu'))];
    const plans = { onGpu: [planOf(onGpu, 'gpu', 2)], onNpu: [planOf(onNpu, 'npu', 2)] };
    const inp = input(servers, [onGpu, onNpu], { onGpu: 30, onNpu: 30 }, plans);
    const r = placeServices(inp, NO_RESERVE);
    expect(r.instances.map((i) => `${i.serviceId}:${i.deviceIds.join('+')}`).sort()).toEqual(['onGpu:g0+g1', 'onNpu:n0+n1']);
    expect(findPlacementViolations(inp, r.instances, NO_RESERVE)).toEqual([]);
  });
});

describe('which device of a pool', () => {
  // Two identical GPUs. A single-device item goes to the feasible device that is fullest already (best fit keeps
  // an empty device for what needs one), the first of equally full ones.
  const [a, b] = [service('a', 2), service('b', 2)];
  const servers = [server('s0', device('g0', 16), device('g1', 16))];

  it('on empty devices, the first', () => {
    expect(placeServices(input(servers, [a], { a: 30 }), NO_RESERVE).instances.map((i) => i.deviceIds)).toEqual([['g0']]);
  });

  it('beside a running instance rather than on the empty device', () => {
    for (const on of ['g0', 'g1']) {
      const inp: PlacementInput = {
        ...input(servers, [a, b], { a: 30, b: 30 }),
        current: [{ instanceId: 'a-1', serviceId: 'a', plan: planOf(a), serverId: 's0', deviceIds: [on], capacityPerSec: 100 }],
      };
      const r = placeServices(inp, NO_RESERVE);
      expect(r.instances.map((i) => `${i.serviceId}:${i.deviceIds.join('+')}`).sort()).toEqual([`a:${on}`, `b:${on}`]);
    }
  });
});

describe('cost of an item without multi-task', () => {
  it('is a whole device whatever share of its time the item keeps busy: the service worth more wins the device', () => {
    // One GPU, multi-task off. a serves 100 items/s and keeps the device busy all the time; b is planned at 60 items/s
    // (a fifth of the device's time). Each costs the whole device, so greedy takes a (100 > 60); safeguard and
    // restarts are off so that the greedy's own order shows.
    const [sa, sb] = [service('a', 2), service('b', 2)];
    const pb: ParallelPlan = { ...planOf(sb), capacityPerSec: 60 };
    const r = placeServices(input([server('s0', device('g0', 16))], [sa, sb], { a: 100, b: 60 }, { a: [planOf(sa)], b: [pb] }), {
      ...NO_RESERVE,
      multiTask: false,
      safeguard: false,
      restarts: 0,
    });
    expect(r.services.map((x) => x.servedPerSec)).toEqual([100, 0]);
  });
});

describe('devices that report no memory', () => {
  it('hold services that declare none: the duty cycle alone decides, and all demand is served', () => {
    // Two CPUs reporting 0 bytes; three services of 0 bytes at 30, 300 and 100 items/s (307.7 a device alone): the
    // 300 takes a device for itself, the 30 and the 100 share the other (a 52 ms cycle, well within 500 ms).
    const zero = (id: string) => service(id, 0);
    const [a, b, c] = [zero('a'), zero('b'), zero('c')];
    const cpus = [server('s0', device('c0', 0, 'cpu'), device('c1', 0, 'cpu'))];
    const plans = Object.fromEntries([a, b, c].map((s) => [s.id, [planOf(s, 'cpu')]]));
    const inp = input(cpus, [a, b, c], { a: 30, b: 300, c: 100 }, plans);
    // The greedy alone (safeguard and restarts off) finds it too.
    for (const options of [{}, { safeguard: false, restarts: 0 }]) {
      const r = placeServices(inp, options);
      expect(r.services.map((x) => x.servedPerSec)).toEqual([30, 300, 100]);
      expect(findPlacementViolations(inp, r.instances)).toEqual([]);
    }
  });
});

describe('a one-device data-parallel instance keeps its device', () => {
  // Two GPUs: a runs on g0 as a one-device data-parallel instance at 50 items/s (its device's time: 160 ms a cycle).
  // b and c (30 items/s each) can pair at a ¼ share, and a ¼ share of b would fit beside a by memory and duty
  // cycle — but a plan that is not `single` never shares: b and c go to g1, together.
  const [a, b, c] = [service('a', 2), service('b', 2), service('c', 2)];
  const dp: ParallelPlan = { ...planOf(a), serviceStrategy: 'data-parallel' };
  const servers = [server('s0', device('g0', 16), device('g1', 16))];
  const inp = (current: boolean): PlacementInput => ({
    ...input(servers, [a, b, c], { a: 50, b: 30, c: 30 }, { a: [dp], b: [planOf(b)], c: [planOf(c)] }),
    ...(current ? { current: [{ instanceId: 'a-1', serviceId: 'a', plan: dp, serverId: 's0', deviceIds: ['g0'], capacityPerSec: 50 }] } : {}),
  });

  it('running: nothing joins it', () => {
    const r = placeServices(inp(true), NO_RESERVE);
    expect(r.instances.filter((i) => i.deviceIds.includes('g0')).map((i) => i.instanceId)).toEqual(['a-1']);
    expect(r.services.map((x) => x.servedPerSec)).toEqual([50, 30, 30]);
  });

  it('new: it takes a device alone', () => {
    const r = placeServices(inp(false), NO_RESERVE);
    const onA = r.instances.find((i) => i.serviceId === 'a')!.deviceIds;
    expect(r.instances.filter((i) => i.deviceIds.join() === onA.join()).map((i) => i.serviceId)).toEqual(['a']);
    expect(r.services.map((x) => x.servedPerSec)).toEqual([50, 30, 30]);
  });
});

describe('the unit cost model', () => {
  // Two GPUs. g needs both (a two-device group, 615 items/s) for 500 items/s of demand; s needs one for 300. Under
  // the resource cost model the group costs two devices (250 items/s a device against s's 300) and greedy takes s
  // first, which leaves no pair of free devices; under `costModel: 'unit'` every item costs 1 and greedy takes g.
  // Safeguard and restarts are off so that the greedy's own order shows.
  const [g, s] = [service('g', 2), service('s', 2)];
  const inp = input([server('s0', device('g0', 16), device('g1', 16))], [g, s], { g: 500, s: 300 }, { g: [planOf(g, 'gpu', 2)], s: [planOf(s)] });
  const served = (costModel: 'unit' | 'resource') =>
    placeServices(inp, { ...NO_RESERVE, costModel, safeguard: false, restarts: 0 }).services.map((x) => x.servedPerSec);

  it('counts each item as one', () => {
    expect(served('resource')).toEqual([0, 300]);
    expect(served('unit')).toEqual([500, 0]);
  });
});

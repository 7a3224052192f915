import { describe, expect, it } from 'vitest';
import { placementService } from '../testing/placement-fixture.js';
import type { ServerSpec } from '../model/device.js';
import type { ServiceSpec } from '../model/service.js';
import { findPlacementViolations } from './find-violations.js';
import { placeServices } from './place-services.js';
import { affinePlan } from './testing/random-instance.js';
import type { PlacementInput } from './types.js';

const GB = 1024 ** 3;
/** Items valued by the service weight, no floor: these tests are about the eviction rule itself. */
const PER_ITEM = { valueWeighting: 'per-item', minServedShare: 0 } as const;

/** A service whose weights take most of a 16 GB device, so two never share one. */
const big = (id: string): ServiceSpec => placementService(id, { weightsGb: 10, loadTimeMs: 3000 });

const oneDevice: ServerSpec[] = [{ id: 's0', devices: [{ id: 'g0', kind: 'gpu', memoryBytes: 16 * GB }] }];

function busyDevice(hotRate: number, lowRate: number): PlacementInput {
  const hot = big('hot');
  const low = big('low');
  const plans = {
    hot: [affinePlan(hot, 'gpu', { fixedMs: 10, perItemMs: 2, batch: 8 })],
    low: [affinePlan(low, 'gpu', { fixedMs: 10, perItemMs: 2, batch: 8 })],
  };
  return {
    servers: oneDevice,
    services: [hot, low],
    plans,
    demand: [
      { serviceId: 'hot', ratePerServer: { s0: hotRate } },
      { serviceId: 'low', ratePerServer: { s0: lowRate } },
    ],
    current: [{ instanceId: 'low-1', serviceId: 'low', plan: plans.low[0]!, serverId: 's0', deviceIds: ['g0'] }],
  };
}

describe('eviction for starving services', () => {
  it('gives a busy device to a service that needs it far more, make-before-break', () => {
    const input = busyDevice(250, 5);
    const r = placeServices(input, PER_ITEM);
    expect(findPlacementViolations(input, r.instances)).toEqual([]);
    expect(r.instances.map((i) => i.serviceId)).toEqual(['hot']);
    expect(r.services.find((s) => s.serviceId === 'hot')!.servedPerSec).toBeCloseTo(250, 6);
    // The evicted instance shares the device's memory with its replacement: it is drained and freed first.
    const actions = r.changes.map((c) => `${c.action}:${c.instanceId === 'low-1' ? 'low' : 'hot'}`);
    expect(actions.indexOf('free:low')).toBeGreaterThanOrEqual(0);
    expect(actions.indexOf('free:low')).toBeLessThan(actions.indexOf('load:hot'));
  });

  it('keeps the running instance when the newcomer gains less than the eviction loses', () => {
    const input = busyDevice(20, 200);
    const r = placeServices(input, PER_ITEM);
    expect(r.instances.map((i) => i.instanceId)).toEqual(['low-1']);
    expect(r.changes).toEqual([]);
  });

  it('makes no further change when its own result is fed back', () => {
    const input = busyDevice(250, 5);
    const first = placeServices(input, PER_ITEM);
    const second = placeServices({ ...input, current: first.instances }, PER_ITEM);
    expect(second.changes).toEqual([]);
    expect(second.instances).toEqual(first.instances);
  });
});

/** One server, two full devices: `cheap` on g0 serves `cheapRate`, `dear` on g1 serves `dearRate`; `hot` starves. */
function twoBusyDevices(cheapRate: number, dearRate: number, hotRate: number, cheapOn = 'g0'): PlacementInput {
  const servers: ServerSpec[] = [{ id: 's0', devices: [{ id: 'g0', kind: 'gpu', memoryBytes: 16 * GB }, { id: 'g1', kind: 'gpu', memoryBytes: 16 * GB }] }];
  const svc = { hot: big('hot'), cheap: big('cheap'), dear: big('dear') };
  const plan = (s: ServiceSpec) => affinePlan(s, 'gpu', { fixedMs: 10, perItemMs: 2, batch: 8 });
  const plans = { hot: [plan(svc.hot)], cheap: [plan(svc.cheap)], dear: [plan(svc.dear)] };
  const dearOn = cheapOn === 'g0' ? 'g1' : 'g0';
  return {
    servers,
    services: [svc.hot, svc.cheap, svc.dear],
    plans,
    demand: [
      { serviceId: 'hot', ratePerServer: { s0: hotRate } },
      { serviceId: 'cheap', ratePerServer: { s0: cheapRate } },
      { serviceId: 'dear', ratePerServer: { s0: dearRate } },
    ],
    current: [
      // Listed dearest first, so the choice cannot come from input order.
      { instanceId: 'dear-1', serviceId: 'dear', plan: plans.dear[0]!, serverId: 's0', deviceIds: [dearOn] },
      { instanceId: 'cheap-1', serviceId: 'cheap', plan: plans.cheap[0]!, serverId: 's0', deviceIds: [cheapOn] },
    ],
  };
}

describe('eviction picks the cheapest victim', () => {
  for (const cheapOn of ['g0', 'g1']) {
    it(`evicts the instance whose removal loses least, not the one that serves most (cheap one on ${cheapOn})`, () => {
      // Both evictions pay for themselves (hot gains ~250 items/s, the victims lose 5 or 40): the rule must take
      // the one losing 5.
      const input = twoBusyDevices(5, 40, 250, cheapOn);
      const r = placeServices(input, PER_ITEM);
      const byService = Object.fromEntries(r.instances.map((i) => [i.serviceId, i]));
      expect(Object.keys(byService).sort()).toEqual(['dear', 'hot']);
      expect(byService['dear']!.instanceId).toBe('dear-1');
      expect(byService['hot']!.deviceIds).toEqual([cheapOn]);
      const served = Object.fromEntries(r.services.map((s) => [s.serviceId, s.servedPerSec]));
      expect(served['dear']).toBeCloseTo(40, 6);
      expect(served['cheap'] ?? 0).toBe(0);
      expect(served['hot']).toBeCloseTo(250, 6);
      // The only changes: the cheap instance freed and hot loaded; the dear one untouched.
      expect(r.changes.some((c) => c.instanceId === 'dear-1')).toBe(false);
      expect(r.changes.some((c) => c.instanceId === 'cheap-1' && c.action === 'free')).toBe(true);
    });
  }

  it('evicts nothing when even the cheapest eviction loses more than the newcomer would gain', () => {
    const r = placeServices(twoBusyDevices(120, 200, 60), PER_ITEM);
    expect(r.instances.map((i) => i.instanceId).sort()).toEqual(['cheap-1', 'dear-1']);
    expect(r.changes).toEqual([]);
  });
});

describe('what an eviction gives the freed device', () => {
  // One 16 GB device held by `low` (50 items/s). Two services starve: `wide` (700 items/s, a plan of 800 a device)
  // and `narrow` (2000 items/s on a plan of only 100 a device, so it still starves once placed). Figures exact:
  // items valued by weight, no floor, no switching cost.
  const EXACT = { valueWeighting: 'per-item', minServedShare: 0, switchWeight: 0 } as const;
  const svc = { low: big('low'), wide: big('wide'), narrow: big('narrow') };
  const plans = {
    low: [affinePlan(svc.low, 'gpu', { fixedMs: 2, perItemMs: 1, batch: 8 })],
    wide: [affinePlan(svc.wide, 'gpu', { fixedMs: 2, perItemMs: 1, batch: 8 })],
    narrow: [affinePlan(svc.narrow, 'gpu', { fixedMs: 10, perItemMs: 0, batch: 1 })],
  };
  const input = (order: readonly ('wide' | 'narrow')[]): PlacementInput => ({
    servers: oneDevice,
    services: [svc.low, ...order.map((k) => svc[k])],
    plans,
    demand: [
      { serviceId: 'low', ratePerServer: { s0: 50 } },
      { serviceId: 'wide', ratePerServer: { s0: 700 } },
      { serviceId: 'narrow', ratePerServer: { s0: 2000 } },
    ],
    current: [{ instanceId: 'low-1', serviceId: 'low', plan: plans.low[0]!, serverId: 's0', deviceIds: ['g0'] }],
  });

  for (const order of [
    ['wide', 'narrow'],
    ['narrow', 'wide'],
  ] as const) {
    it(`the starving service that gains most on it, whatever the order of the services (${order.join(', ')})`, () => {
      const r = placeServices(input(order), EXACT);
      expect(r.instances.map((i) => `${i.serviceId}@${i.deviceIds.join('+')}`)).toEqual(['wide@g0']);
      const served = Object.fromEntries(r.services.map((s) => [s.serviceId, s.servedPerSec]));
      expect(served).toEqual({ low: 0, wide: 700, narrow: 0 });
    });
  }

  it('at equal gain, the service listed first', () => {
    for (const [first, second] of [
      ['a', 'b'],
      ['b', 'a'],
    ] as const) {
      const twins = { a: big('a'), b: big('b') };
      const twinPlan = (s: ServiceSpec) => affinePlan(s, 'gpu', { fixedMs: 2, perItemMs: 1, batch: 8 });
      const r = placeServices(
        {
          servers: oneDevice,
          services: [svc.low, twins[first], twins[second]],
          plans: { low: plans.low, a: [twinPlan(twins.a)], b: [twinPlan(twins.b)] },
          demand: [
            { serviceId: 'low', ratePerServer: { s0: 50 } },
            { serviceId: 'a', ratePerServer: { s0: 700 } },
            { serviceId: 'b', ratePerServer: { s0: 700 } },
          ],
          current: input(['wide']).current,
        },
        EXACT,
      );
      expect(r.instances.map((i) => i.serviceId)).toEqual([first]);
    }
  });

  it('of two victims that cost the same, evicts the one placed first', () => {
    // x-1 and y-1 serve 5 items/s each on devices of their own; hot needs one device. Order: as the current list.
    const two: ServerSpec[] = [{ id: 's0', devices: ['g0', 'g1'].map((id) => ({ id, kind: 'gpu', memoryBytes: 16 * GB })) }];
    for (const [first, second] of [
      ['x', 'y'],
      ['y', 'x'],
    ] as const) {
      const s = { x: big('x'), y: big('y'), hot: big('hot') };
      const p = (k: ServiceSpec) => affinePlan(k, 'gpu', { fixedMs: 2, perItemMs: 1, batch: 8 });
      const device = { [first]: 'g0', [second]: 'g1' };
      const r = placeServices(
        {
          servers: two,
          services: [s.hot, s.x, s.y],
          plans: { hot: [p(s.hot)], x: [p(s.x)], y: [p(s.y)] },
          demand: [
            { serviceId: 'hot', ratePerServer: { s0: 700 } },
            { serviceId: 'x', ratePerServer: { s0: 5 } },
            { serviceId: 'y', ratePerServer: { s0: 5 } },
          ],
          current: [first, second].map((k) => ({ instanceId: `${k}-1`, serviceId: k, plan: p(s[k]), serverId: 's0', deviceIds: [device[k]!] })),
        },
        EXACT,
      );
      expect(r.instances.map((i) => `${i.serviceId}@${i.deviceIds.join('+')}`).sort()).toEqual([`${second}@g1`, 'hot@g0'].sort());
    }
  });

  it('re-places the evicted service where only it fits, in the next round', () => {
    // `low` also has a CPU plan; `hot` runs on the GPU only. Evicting low-1 gives hot the GPU, and the round after
    // puts low on the CPU, which nothing else could use.
    const hot = big('hot');
    const low = big('low');
    const gpu = (s: ServiceSpec) => affinePlan(s, 'gpu', { fixedMs: 2, perItemMs: 1, batch: 8 });
    const cpu = affinePlan(low, 'cpu', { fixedMs: 10, perItemMs: 10, batch: 1 });
    const servers: ServerSpec[] = [{ id: 's0', devices: [{ id: 'g0', kind: 'gpu', memoryBytes: 16 * GB }, { id: 'c0', kind: 'cpu', memoryBytes: 16 * GB }] }];
    const mixed: PlacementInput = {
      servers,
      services: [hot, low],
      plans: { hot: [gpu(hot)], low: [gpu(low), cpu] },
      demand: [
        { serviceId: 'hot', ratePerServer: { s0: 700 } },
        { serviceId: 'low', ratePerServer: { s0: 50 } },
      ],
      current: [{ instanceId: 'low-1', serviceId: 'low', plan: gpu(low), serverId: 's0', deviceIds: ['g0'] }],
    };
    const r = placeServices(mixed, EXACT);
    expect(findPlacementViolations(mixed, r.instances)).toEqual([]);
    expect(r.instances.map((i) => `${i.serviceId}@${i.deviceIds.join('+')}`).sort()).toEqual(['hot@g0', 'low@c0']);
    const served = Object.fromEntries(r.services.map((s) => [s.serviceId, s.servedPerSec]));
    expect(served).toEqual({ hot: 700, low: 50 });
  });
});

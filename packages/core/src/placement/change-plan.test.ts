import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ServiceSpec } from '../model/service.js';
import { footprintOf } from './candidates.js';
import { buildPlacementModel } from './model.js';
import { resolvePlacementOptions, type PlacementOptions } from './options.js';
import { placeServices } from './place-services.js';
import { affinePlan } from './testing/random-instance.js';
import { statefulScenario } from './testing/scenarios.js';
import type { PlacedInstance, PlacementInput, PlacementResult } from './types.js';

const GB = 1024 ** 3;

interface Live {
  readonly inst: PlacedInstance;
  readonly devices: number[];
  readonly mem: number;
  readonly exclusive: boolean;
  state: 'loading' | 'ready' | 'draining' | 'lost';
}

/**
 * Replays a change plan and checks make-before-break: memory and exclusivity hold at every step, load precedes
 * ready, drain precedes free, a placed service never loses its last ready instance unless the step says so (and
 * only to make room), and the end state is the next placement.
 */
function replay(input: PlacementInput, result: PlacementResult, opts: PlacementOptions): void {
  const model = buildPlacementModel(input, resolvePlacementOptions(opts));
  const live = new Map<string, Live>();
  const toLive = (inst: PlacedInstance, state: Live['state']): Live => {
    const svc = model.services[model.serviceIndex.get(inst.serviceId)!]!;
    const server = model.serverIndex.get(inst.serverId);
    const devices = server === undefined ? [] : inst.deviceIds.map((id) => model.deviceIndex.get(`${server}:${id}`)!);
    const foot = footprintOf(svc, inst.plan, inst.capacityPerSec ?? inst.plan.capacityPerSec, opts.multiTask !== false);
    const failed = devices.length === 0 || devices.some((d) => !model.devices[d]!.healthy);
    return { inst, devices, mem: foot.memBytes, exclusive: foot.exclusive, state: failed ? 'lost' : state };
  };
  for (const c of input.current ?? []) live.set(c.instanceId, toLive(c, 'ready'));
  const next = new Map(result.instances.map((i) => [i.instanceId, i]));
  const placed = new Set(result.instances.map((i) => i.serviceId));
  const readyCount = (svc: string): number => [...live.values()].filter((l) => l.inst.serviceId === svc && l.state === 'ready').length;
  for (const step of result.changes) {
    const before = readyCount(step.serviceId);
    const cur = live.get(step.instanceId);
    if (step.action === 'load') {
      expect(cur).toBeUndefined();
      const l = toLive(next.get(step.instanceId)!, 'loading');
      live.set(step.instanceId, l);
      for (const d of l.devices) {
        const here = [...live.values()].filter((x) => x.state !== 'lost' && x.devices.includes(d));
        expect(here.reduce((s, x) => s + x.mem, 0)).toBeLessThanOrEqual(model.devices[d]!.usableBytes * (1 + 1e-9));
        if (here.length > 1) expect(here.some((x) => x.exclusive)).toBe(false);
      }
    } else if (step.action === 'ready') {
      expect(cur?.state).toBe('loading');
      cur!.state = 'ready';
    } else if (step.action === 'drain') {
      expect(cur?.state).toBe('ready');
      cur!.state = 'draining';
    } else {
      expect(cur?.state === 'draining' || cur?.state === 'lost').toBe(true);
      if (cur?.state === 'lost') expect(step.reason).toMatch(/failed/);
      live.delete(step.instanceId);
    }
    if (before > 0 && readyCount(step.serviceId) === 0 && placed.has(step.serviceId)) {
      expect(step.leavesServiceWithoutReady).toBe(true);
    }
    if (step.leavesServiceWithoutReady) expect(step.reason).toMatch(/^makes room for /);
  }
  expect(new Set(live.keys())).toEqual(new Set(next.keys()));
  for (const l of live.values()) expect(l.state).toBe('ready');
}

describe('make-before-break change plan', () => {
  it('holds its invariants on random stateful re-placements with failures', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.record({ servers: fc.integer({ min: 1, max: 4 }), devicesPerServer: fc.integer({ min: 1, max: 3 }), services: fc.integer({ min: 1, max: 6 }), groups: fc.boolean() }),
        fc.record({ multiTask: fc.boolean(), locality: fc.boolean(), switchWeight: fc.constantFrom(0, 1) }),
        fc.constantFrom(0, 0.25),
        (s, shape, opts, failP) => {
          const input = statefulScenario(s, shape, opts, failP);
          replay(input, placeServices(input, opts), opts);
        },
      ),
      { numRuns: Number(process.env.FC_RUNS ?? 150) },
    );
  });

  it('drains first, and says so, when the new instance needs memory held by the one it replaces', () => {
    const small: ServiceSpec = { id: 'small', sensitivity: 'latency', slo: { kind: 'latency', deadlineMs: 200 }, memory: { weightsBytes: 10 * GB, perItemBytes: 0 }, profiles: {} };
    const other: ServiceSpec = { ...small, id: 'other' };
    const plan = (s: ServiceSpec): ReturnType<typeof affinePlan> => affinePlan(s, 'gpu', { fixedMs: 10, perItemMs: 2, batch: 8 });
    const input: PlacementInput = {
      servers: [{ id: 's0', devices: [{ id: 'g0', kind: 'gpu', memoryBytes: 16 * GB }] }],
      services: [small, other],
      plans: { small: [plan(small)], other: [plan(other)] },
      demand: [{ serviceId: 'other', ratePerServer: { s0: 100 } }],
      current: [{ instanceId: 'old', serviceId: 'small', plan: plan(small), serverId: 's0', deviceIds: ['g0'] }],
    };
    const r = placeServices(input, { switchWeight: 0 });
    expect(r.changes.map((c) => [c.action, c.instanceId])).toEqual([
      ['drain', 'old'],
      ['free', 'old'],
      ['load', 'other@s0:g0'],
      ['ready', 'other@s0:g0'],
    ]);
    expect(r.changes[0]!.reason).toBe('makes room for other@s0:g0');
    replay(input, r, { switchWeight: 0 });
  });

  it('loads the replacement before draining the old instance when both fit (no gap)', () => {
    const a: ServiceSpec = { id: 'a', sensitivity: 'latency', slo: { kind: 'latency', deadlineMs: 200 }, memory: { weightsBytes: 2 * GB, perItemBytes: 0 }, profiles: {} };
    const p = affinePlan(a, 'gpu', { fixedMs: 10, perItemMs: 2, batch: 8 });
    const input: PlacementInput = {
      servers: [
        { id: 's0', devices: [{ id: 'g0', kind: 'gpu', memoryBytes: 16 * GB, healthy: true }] },
        { id: 's1', devices: [{ id: 'g0', kind: 'gpu', memoryBytes: 16 * GB }] },
      ],
      services: [a],
      plans: { a: [p] },
      demand: [{ serviceId: 'a', ratePerServer: { s0: 100 } }],
      // The current instance uses a plan the allocator no longer offers and cannot stay on a cpu device.
      current: [{ instanceId: 'old', serviceId: 'a', plan: { ...p, deviceKind: 'cpu' }, serverId: 's0', deviceIds: ['g0'] }],
    };
    const r = placeServices(input);
    const order = r.changes.map((c) => c.action);
    expect(order.indexOf('ready')).toBeLessThan(order.indexOf('drain'));
    expect(r.changes.some((c) => c.leavesServiceWithoutReady)).toBe(false);
  });
});

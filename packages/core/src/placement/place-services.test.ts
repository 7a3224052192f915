import { describe, expect, it } from 'vitest';
import { placementService } from '../testing/placement-fixture.js';
import type { ServerSpec } from '../model/device.js';
import type { ServiceSpec } from '../model/service.js';
import { isEparaError } from '../errors/epara-error.js';
import { findPlacementViolations } from './find-violations.js';
import { placeServices } from './place-services.js';
import { affinePlan } from './testing/random-instance.js';
import type { PlacementInput } from './types.js';

const GB = 1024 ** 3;

const svc = (id: string, over: Partial<ServiceSpec> = {}): ServiceSpec => placementService(id, { loadTimeMs: 3000, ...over });

const servers = (n: number, devices = 2, memGb = 16): ServerSpec[] =>
  Array.from({ length: n }, (_, s) => ({
    id: `s${s}`,
    devices: Array.from({ length: devices }, (_, d) => ({ id: `g${d}`, kind: 'gpu', memoryBytes: memGb * GB })),
  }));

/** Two latency services with 10 ms + 2 ms/item profiles at batch 8 (26 ms, ~308 items/s per device). */
function twoServices(rateA: number, rateB: number): PlacementInput {
  const a = svc('a');
  const b = svc('b');
  return {
    servers: servers(2),
    services: [a, b],
    plans: { a: [affinePlan(a, 'gpu', { fixedMs: 10, perItemMs: 2, batch: 8 })], b: [affinePlan(b, 'gpu', { fixedMs: 10, perItemMs: 2, batch: 8 })] },
    demand: [
      { serviceId: 'a', ratePerServer: { s0: rateA } },
      { serviceId: 'b', ratePerServer: { s1: rateB } },
    ],
  };
}

describe('placeServices', () => {
  it('covers the demand of every service and respects every constraint', () => {
    const input = twoServices(500, 100);
    const r = placeServices(input);
    expect(findPlacementViolations(input, r.instances)).toEqual([]);
    const byId = Object.fromEntries(r.services.map((s) => [s.serviceId, s]));
    expect(byId['a']!.servedPerSec).toBeCloseTo(500, 6);
    expect(byId['b']!.servedPerSec).toBeCloseTo(100, 6);
    expect(r.goodputPerSec).toBeCloseTo(600, 6);
    // Each service's entry counts its own instances (a more than one: 500 items/s is past a device) and states its demand.
    const count = (id: string): number => r.instances.filter((i) => i.serviceId === id).length;
    expect(count('a')).toBeGreaterThan(count('b'));
    expect(r.services.map((s) => [s.serviceId, s.instances, s.demandPerSec])).toEqual([
      ['a', count('a'), 500],
      ['b', count('b'), 100],
    ]);
    // Only new instances: every change is a load followed by its ready, no drains.
    expect(r.changes.map((c) => c.action).filter((a) => a === 'drain' || a === 'free')).toEqual([]);
    expect(r.changes.filter((c) => c.action === 'load')).toHaveLength(r.instances.length);
  });

  it('co-locates a small service on a shared device when the duty cycle allows (multi-task)', () => {
    const input = twoServices(60, 60);
    const r = placeServices({ ...input, servers: servers(1, 1) });
    expect(r.instances).toHaveLength(2);
    expect(new Set(r.instances.map((i) => i.deviceIds[0]))).toEqual(new Set(['g0']));
    expect(r.goodputPerSec).toBeCloseTo(120, 6);
    expect(findPlacementViolations({ ...input, servers: servers(1, 1) }, r.instances)).toEqual([]);
  });

  it('makes no change when run again on unchanged input', () => {
    const input = twoServices(700, 250);
    const first = placeServices(input);
    const second = placeServices({ ...input, current: first.instances });
    expect(second.changes).toEqual([]);
    expect(second.instances).toEqual(first.instances);
    expect(second.goodputPerSec).toBeCloseTo(first.goodputPerSec, 9);
    expect(second.switchCost).toBe(0);
  });

  it('restores lost capacity after a device failure, elsewhere, and frees the dead instance without a drain', () => {
    const input = twoServices(300, 0);
    const first = placeServices(input);
    const victim = first.instances[0]!;
    const failed = input.servers.map((s) =>
      s.id === victim.serverId ? { ...s, devices: s.devices.map((d) => (d.id === victim.deviceIds[0] ? { ...d, healthy: false } : d)) } : s,
    );
    const next = placeServices({ ...input, servers: failed, current: first.instances });
    expect(next.goodputPerSec).toBeCloseTo(first.goodputPerSec, 6);
    expect(next.instances.some((i) => i.instanceId === victim.instanceId)).toBe(false);
    const steps = next.changes.filter((c) => c.instanceId === victim.instanceId);
    expect(steps.map((s) => s.action)).toEqual(['free']);
    expect(steps[0]!.reason).toBe('device failed');
    expect(findPlacementViolations({ ...input, servers: failed }, next.instances)).toEqual([]);
  });

  it('treats a whole failed server like failed devices', () => {
    const input = twoServices(200, 200);
    const first = placeServices(input);
    const down = input.servers.map((s) => (s.id === 's0' ? { ...s, healthy: false } : s));
    const next = placeServices({ ...input, servers: down, current: first.instances });
    expect(next.instances.every((i) => i.serverId === 's1')).toBe(true);
    expect(next.goodputPerSec).toBeCloseTo(400, 6);
  });

  it('uses measured capacity instead of the nominal one and adds backlog to demand', () => {
    const input = twoServices(250, 0);
    const first = placeServices(input);
    expect(first.instances).toHaveLength(1);
    const slow = first.instances.map((i) => ({ ...i, measuredCapacityPerSec: 150, backlogItems: 1500 }));
    const next = placeServices({ ...input, current: slow }, { periodMs: 30_000 });
    const a = next.services.find((s) => s.serviceId === 'a')!;
    expect(a.demandPerSec).toBeCloseTo(250 + 1500 / 30, 9);
    expect(next.instances.length).toBeGreaterThan(1);
    expect(a.servedPerSec).toBeCloseTo(a.demandPerSec, 6);
  });

  it('frees instances whose service lost its demand', () => {
    const input = twoServices(300, 300);
    const first = placeServices(input);
    const next = placeServices({ ...input, demand: [{ serviceId: 'a', ratePerServer: { s0: 300 } }], current: first.instances });
    expect(next.instances.every((i) => i.serviceId === 'a')).toBe(true);
    const bIds = first.instances.filter((i) => i.serviceId === 'b').map((i) => i.instanceId);
    for (const id of bIds) {
      const steps = next.changes.filter((c) => c.instanceId === id);
      expect(steps.map((s) => s.action)).toEqual(['drain', 'free']);
      expect(steps[0]!.reason).toBe('no longer needed');
      expect(steps.some((s) => s.leavesServiceWithoutReady)).toBe(false);
    }
  });

  it('gives the same result lazily and eagerly', () => {
    const input = twoServices(900, 450);
    const lazy = placeServices(input, { lazy: true });
    const eager = placeServices(input, { lazy: false });
    expect(lazy.instances).toEqual(eager.instances);
    expect(lazy.stats.evaluations).toBeLessThan(eager.stats.evaluations);
  });

  it('charges the switching cost and skips an instance whose goodput does not pay for its load', () => {
    const input = twoServices(5, 0);
    // Per-item value without a floor, so the objective is plain goodput.
    const r = placeServices(input, { switchWeight: 100, periodMs: 1000, minServedShare: 0 });
    expect(r.instances).toEqual([]);
    const cheap = placeServices(input, { switchWeight: 1, valueWeighting: 'per-item', minServedShare: 0 });
    expect(cheap.instances).toHaveLength(1);
    expect(cheap.switchCost).toBeCloseTo((5 * 3000) / 30_000, 9);
    expect(cheap.objective).toBeCloseTo(5 - cheap.switchCost, 9);
  });

  it('states the guarantee that applies to the options', () => {
    const input = twoServices(100, 100);
    expect(placeServices(input).guarantee).toMatchObject({ structure: 'multi-knapsack', ratio: null });
    expect(placeServices(input, { multiTask: false, switchWeight: 0 }).guarantee).toMatchObject({ structure: 'partition-matroid', ratio: 0.5 });
  });
});

describe('placeServices with locality', () => {
  it('serves an access server only from instances within its SLO budget', () => {
    const a = svc('a', { slo: { kind: 'latency', deadlineMs: 80 } });
    const plan = affinePlan(a, 'gpu', { fixedMs: 10, perItemMs: 2, batch: 8 }); // expectedLatency 52 ms
    const input: PlacementInput = {
      servers: [
        { id: 'near', devices: [] },
        { id: 'far', devices: [{ id: 'g0', kind: 'gpu', memoryBytes: 16 * GB }] },
      ],
      services: [a],
      plans: { a: [plan] },
      demand: [{ serviceId: 'a', ratePerServer: { near: 100 } }],
      delaysMs: { near: { far: 20 }, far: { near: 20 } },
    };
    expect(placeServices(input, { locality: true }).goodputPerSec).toBe(0);
    expect(placeServices(input, { locality: false }).goodputPerSec).toBeCloseTo(100, 9);
    const close = { ...input, delaysMs: { near: { far: 10 }, far: { near: 10 } } };
    expect(placeServices(close, { locality: true }).goodputPerSec).toBeCloseTo(100, 9);
  });
});

describe('placeServices input validation', () => {
  const base = twoServices(10, 10);
  const code = (f: () => unknown): { code: string; field: unknown } => {
    try {
      f();
    } catch (err) {
      if (isEparaError(err)) return { code: err.code, field: err.details['field'] };
      throw err;
    }
    throw new Error('expected an EparaError');
  };

  it('rejects negative or NaN demand naming the field', () => {
    expect(code(() => placeServices({ ...base, demand: [{ serviceId: 'a', ratePerServer: { s0: -1 } }] }))).toEqual({
      code: 'INVALID_OPTIONS',
      field: 'demand[0].ratePerServer.s0',
    });
    expect(code(() => placeServices({ ...base, demand: [{ serviceId: 'a', ratePerServer: { s0: Number.NaN } }] })).code).toBe('INVALID_OPTIONS');
  });

  it('rejects unknown services in the current placement, plans and demand', () => {
    const inst = placeServices(base).instances[0]!;
    expect(code(() => placeServices({ ...base, current: [{ ...inst, serviceId: 'zzz', plan: { ...inst.plan, serviceId: 'zzz' } }] }))).toEqual({
      code: 'UNKNOWN_SERVICE',
      field: 'current[0].serviceId',
    });
    expect(code(() => placeServices({ ...base, plans: { ...base.plans, zzz: [] } })).field).toBe('plans.zzz');
    expect(code(() => placeServices({ ...base, demand: [{ serviceId: 'zzz', ratePerServer: {} }] })).code).toBe('UNKNOWN_SERVICE');
  });

  it('rejects duplicate ids', () => {
    const inst = placeServices(base).instances[0]!;
    expect(code(() => placeServices({ ...base, current: [inst, inst] })).field).toBe('current[1].instanceId');
    expect(code(() => placeServices({ ...base, servers: [...base.servers, base.servers[0]!] })).field).toBe('servers[2].id');
    expect(code(() => placeServices({ ...base, services: [...base.services, base.services[0]!] })).field).toBe('services[2].id');
  });

  it('rejects bad options and bad plans', () => {
    expect(code(() => placeServices(base, { switchWeight: -1 })).field).toBe('switchWeight');
    expect(code(() => placeServices(base, { reserveFraction: 1 })).field).toBe('reserveFraction');
    expect(code(() => placeServices(base, { shareLevels: [0] })).field).toBe('shareLevels[0]');
    expect(code(() => placeServices(base, { restarts: -1 })).field).toBe('restarts');
    expect(code(() => placeServices(base, { batchVariants: 0.5 })).field).toBe('batchVariants');
    const bad = { ...base.plans['a']![0]!, capacityPerSec: Number.NaN };
    expect(code(() => placeServices({ ...base, plans: { ...base.plans, a: [bad] } })).field).toBe('plans.a[0].capacityPerSec');
    const wrongOwner = base.plans['b']![0]!;
    expect(code(() => placeServices({ ...base, plans: { ...base.plans, a: [wrongOwner] } })).field).toBe('plans.a[0].serviceId');
  });
});

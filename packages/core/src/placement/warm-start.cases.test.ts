import { describe, expect, it } from 'vitest';
import { placementService } from '../testing/placement-fixture.js';
import type { ServerSpec } from '../model/device.js';
import type { ServiceSpec } from '../model/service.js';
import { findPlacementViolations } from './find-violations.js';
import { placeServices } from './place-services.js';
import { affinePlan } from './testing/random-instance.js';
import type { PlacedInstance, PlacementInput, PlacementResult } from './types.js';

// The warm start (build-placement.ts): which running instances placeServices keeps, and which it drops — lost
// (its server or one of its devices failed or is gone: freed at once, nothing to drain) or no longer fitting
// (drained after its replacement is ready). Each case is one running instance, worked out by hand.

const GB = 1024 ** 3;
const service = (id: string): ServiceSpec => placementService(id, { loadTimeMs: 3000 });
const a = service('a');
/** One batch of 8 runs 26 ms on a gpu: about 307.7 items/s per device, far above the 100 items/s asked. */
const plan = (devices: number) => affinePlan(a, 'gpu', { fixedMs: 10, perItemMs: 2, batch: 8, devices });
const gpu = (id: string, extra: object = {}) => ({ id, kind: 'gpu', memoryBytes: 16 * GB, ...extra });
const running = (serverId: string, deviceIds: string[]): PlacedInstance => ({
  instanceId: 'a-1',
  serviceId: 'a',
  plan: plan(deviceIds.length),
  serverId,
  deviceIds,
});
const input = (servers: ServerSpec[], current: PlacedInstance): PlacementInput => ({
  servers,
  services: [a],
  plans: { a: [plan(1), plan(2)] },
  demand: [{ serviceId: 'a', ratePerServer: { s0: 100 } }],
  current: [current],
});
const stepsOf = (r: PlacementResult, instanceId: string) => r.changes.filter((s) => s.instanceId === instanceId);

describe('warm start', () => {
  it('keeps a running instance whose devices are all there, healthy and still fit', () => {
    const i = input([{ id: 's0', devices: [gpu('g0'), gpu('g1')] }], running('s0', ['g0', 'g1']));
    const r = placeServices(i);
    expect(r.instances.map((x) => x.instanceId)).toContain('a-1');
    expect(stepsOf(r, 'a-1')).toEqual([]);
  });

  it('frees, without a drain, a running instance whose server is no longer in the cluster', () => {
    const i = input([{ id: 's0', devices: [gpu('g0')] }], running('s9', ['g0']));
    const r = placeServices(i);
    expect(r.instances.map((x) => x.instanceId)).not.toContain('a-1');
    expect(stepsOf(r, 'a-1').map((s) => s.action)).toEqual(['free']);
    expect(r.services[0]!.servedPerSec).toBeCloseTo(100, 9);
    expect(findPlacementViolations(i, r.instances)).toEqual([]);
  });

  it('frees, without a drain, a two-device instance when only one of its devices failed', () => {
    const i = input([{ id: 's0', devices: [gpu('g0'), gpu('g1', { healthy: false }), gpu('g2')] }], running('s0', ['g0', 'g1']));
    const r = placeServices(i);
    expect(r.instances.map((x) => x.instanceId)).not.toContain('a-1');
    const steps = stepsOf(r, 'a-1');
    expect(steps.map((s) => s.action)).toEqual(['free']);
    expect(steps[0]!.reason).toMatch(/failed/);
    expect(findPlacementViolations(i, r.instances)).toEqual([]);
  });

  it('frees, without a drain, a two-device instance when one of its devices is gone from its server', () => {
    const i = input([{ id: 's0', devices: [gpu('g0'), gpu('g2')] }], running('s0', ['g0', 'g1']));
    const r = placeServices(i);
    expect(r.instances.map((x) => x.instanceId)).not.toContain('a-1');
    expect(stepsOf(r, 'a-1').map((s) => s.action)).toEqual(['free']);
  });

  it('replaces, with a drain, a two-device instance when one of its devices is now of another kind', () => {
    const i = input([{ id: 's0', devices: [gpu('g0'), gpu('g1', { kind: 'npu' }), gpu('g2')] }], running('s0', ['g0', 'g1']));
    const r = placeServices(i);
    expect(r.instances.map((x) => x.instanceId)).not.toContain('a-1');
    expect(stepsOf(r, 'a-1').map((s) => s.action)).toEqual(['drain', 'free']);
    expect(findPlacementViolations(i, r.instances)).toEqual([]);
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PlacementOptions } from './options.js';
import { placeServices } from './place-services.js';
import { statefulScenario } from './testing/scenarios.js';
import type { PlacedInstance, PlacementInput } from './types.js';

/**
 * A placement checker written from the documented rules only — it calls no production helper (no footprint,
 * duty-cycle, model or option code), so a bug shared by the placer and `findPlacementViolations` cannot hide
 * here. It checks what can be stated without the placer's arithmetic: healthy devices of the plan's kind on
 * the instance's server, the plan's device count, one instance per service per device, exclusive plans
 * alone, and per-device memory within the device less the default 10 % reserve.
 */
function violations(input: PlacementInput, instances: readonly PlacedInstance[], multiTask: boolean): string[] {
  const out: string[] = [];
  const RESERVE = 0.1;
  const onDevice = new Map<string, PlacedInstance[]>();
  const ids = new Set<string>();
  for (const inst of instances) {
    if (ids.has(inst.instanceId)) out.push(`${inst.instanceId}: placed twice`);
    ids.add(inst.instanceId);
    const server = input.servers.find((s) => s.id === inst.serverId);
    if (!server) {
      out.push(`${inst.instanceId}: unknown server ${inst.serverId}`);
      continue;
    }
    if (server.healthy === false) out.push(`${inst.instanceId}: on failed server ${server.id}`);
    if (inst.deviceIds.length !== inst.plan.devices) out.push(`${inst.instanceId}: ${inst.deviceIds.length} devices for a ${inst.plan.devices}-device plan`);
    if (new Set(inst.deviceIds).size !== inst.deviceIds.length) out.push(`${inst.instanceId}: a device listed twice`);
    for (const id of inst.deviceIds) {
      const device = server.devices.find((d) => d.id === id);
      if (!device) {
        out.push(`${inst.instanceId}: unknown device ${server.id}/${id}`);
        continue;
      }
      if (device.healthy === false) out.push(`${inst.instanceId}: on failed device ${server.id}/${id}`);
      if (device.kind !== inst.plan.deviceKind) out.push(`${inst.instanceId}: ${device.kind} device for a ${inst.plan.deviceKind} plan`);
      const key = `${server.id}/${id}`;
      onDevice.set(key, [...(onDevice.get(key) ?? []), inst]);
    }
  }
  for (const [key, list] of onDevice) {
    const [serverId, deviceId] = key.split('/') as [string, string];
    const device = input.servers.find((s) => s.id === serverId)!.devices.find((d) => d.id === deviceId)!;
    const memory = list.reduce((sum, i) => sum + i.plan.memoryPerDeviceBytes, 0);
    if (memory > device.memoryBytes * (1 - RESERVE) * (1 + 1e-9)) out.push(`${key}: ${memory} bytes placed, ${device.memoryBytes * (1 - RESERVE)} usable`);
    if (new Set(list.map((i) => i.serviceId)).size !== list.length) out.push(`${key}: two instances of one service`);
    const exclusive = (i: PlacedInstance): boolean => !multiTask || i.plan.devices > 1 || i.plan.serviceStrategy !== 'single';
    if (list.length > 1 && list.some(exclusive)) out.push(`${key}: an exclusive instance shares the device`);
  }
  return out;
}

const seed = fc.integer({ min: 1, max: 2 ** 31 - 1 });
const shape = fc.record({
  servers: fc.integer({ min: 1, max: 4 }),
  devicesPerServer: fc.integer({ min: 1, max: 3 }),
  services: fc.integer({ min: 1, max: 6 }),
  groups: fc.boolean(),
  kinds: fc.constantFrom(['gpu'], ['gpu', 'cpu']),
});
const options: fc.Arbitrary<PlacementOptions> = fc.record({
  multiTask: fc.boolean(),
  switchWeight: fc.constantFrom(0, 1),
  shareLevels: fc.constantFrom([1], [1, 0.5]),
  lazy: fc.boolean(),
});

describe('placement against an independent checker', () => {
  it('every placement of random stateful instances with failures passes the rules checked from scratch', () => {
    let placed = 0;
    fc.assert(
      fc.property(seed, shape, options, fc.constantFrom(0, 0.25), (s, sh, opts, failP) => {
        const input = statefulScenario(s, sh, opts, failP);
        const r = placeServices(input, opts);
        placed += r.instances.length;
        expect(violations(input, r.instances, opts.multiTask !== false)).toEqual([]);
      }),
      { numRuns: Number(process.env.FC_RUNS ?? 80) },
    );
    expect(placed).toBeGreaterThan(0);
  });

  it('the checker is not vacuous: it flags a placement broken in each way it checks', () => {
    const input = statefulScenario(7, { servers: 2, devicesPerServer: 2, services: 3, groups: false, kinds: ['gpu'] }, {}, 0);
    const r = placeServices(input, {});
    expect(r.instances.length).toBeGreaterThan(0);
    expect(violations(input, r.instances, true)).toEqual([]);
    const first = r.instances[0]!;
    const server = input.servers.find((s) => s.id === first.serverId)!;
    const failed: PlacementInput = { ...input, servers: input.servers.map((s) => (s.id === server.id ? { ...s, devices: s.devices.map((d) => (first.deviceIds.includes(d.id) ? { ...d, healthy: false } : d)) } : s)) };
    expect(violations(failed, r.instances, true).some((v) => v.includes('failed device'))).toBe(true);
    const twin = { ...first, instanceId: `${first.instanceId}-twin` };
    expect(violations(input, [...r.instances, twin], true).some((v) => v.includes('two instances of one service'))).toBe(true);
    const heavy = { ...first, plan: { ...first.plan, memoryPerDeviceBytes: 10 * Math.max(...server.devices.map((d) => d.memoryBytes)) } };
    expect(violations(input, [heavy], true).some((v) => v.includes('usable'))).toBe(true);
    const wide = { ...first, plan: { ...first.plan, devices: first.plan.devices + 1 } };
    expect(violations(input, [wide], true).some((v) => v.includes('-device plan'))).toBe(true);
  });
});

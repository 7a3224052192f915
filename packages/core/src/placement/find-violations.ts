import { footprintOf } from './candidates.js';
import { PLACEMENT_TOLERANCE, roundRobinFits, sharedWaitFits } from './duty-cycle.js';
import { buildPlacementModel } from './model.js';
import { resolvePlacementOptions, type PlacementOptions } from './options.js';
import type { ItemFootprint } from './resources.js';
import type { PlacedInstance, PlacementInput } from './types.js';
import { validatePlacementInput } from './validate-input.js';

/**
 * Checks a placement against every constraint from scratch, independently of the greedy's bookkeeping: healthy
 * devices of the plan's kind, device memory (with the reserve), exclusive groups, one instance per service per
 * device and the multi-task duty cycle. Returns one message per violation (empty = feasible).
 *
 * @example
 * ```ts
 * const problems = findPlacementViolations(input, result.instances);
 * if (problems.length > 0) throw new Error(problems.join('\n'));
 * ```
 * @throws EparaError `INVALID_OPTIONS` / `UNKNOWN_SERVICE` for invalid input, as {@link placeServices}.
 */
export function findPlacementViolations(input: PlacementInput, instances: readonly PlacedInstance[], options: PlacementOptions = {}): string[] {
  const resolved = resolvePlacementOptions(options);
  validatePlacementInput(input);
  const model = buildPlacementModel(input, resolved);
  const out: string[] = [];
  const perDevice = new Map<number, { inst: PlacedInstance; foot: ItemFootprint }[]>();
  for (const inst of instances) {
    const svcIdx = model.serviceIndex.get(inst.serviceId);
    const server = model.serverIndex.get(inst.serverId);
    if (svcIdx === undefined || server === undefined) {
      out.push(`${inst.instanceId}: unknown service or server`);
      continue;
    }
    const foot = footprintOf(model.services[svcIdx]!, inst.plan, inst.capacityPerSec ?? inst.plan.capacityPerSec, resolved.multiTask !== false);
    if (inst.deviceIds.length !== inst.plan.devices) out.push(`${inst.instanceId}: ${inst.deviceIds.length} devices, plan needs ${inst.plan.devices}`);
    for (const id of inst.deviceIds) {
      const d = model.deviceIndex.get(`${server}:${id}`);
      if (d === undefined) {
        out.push(`${inst.instanceId}: unknown device ${inst.serverId}/${id}`);
        continue;
      }
      const dev = model.devices[d]!;
      if (!dev.healthy) out.push(`${inst.instanceId}: on unhealthy device ${inst.serverId}/${id}`);
      if (dev.kind !== inst.plan.deviceKind) out.push(`${inst.instanceId}: device ${id} is ${dev.kind}, plan needs ${inst.plan.deviceKind}`);
      perDevice.set(d, [...(perDevice.get(d) ?? []), { inst, foot }]);
    }
  }
  for (const [d, items] of perDevice) {
    const dev = model.devices[d]!;
    const where = `${model.servers[dev.server]!.id}/${dev.id}`;
    const mem = items.reduce((s, x) => s + x.foot.memBytes, 0);
    if (mem > dev.usableBytes * (1 + PLACEMENT_TOLERANCE)) out.push(`${where}: memory ${mem} > usable ${dev.usableBytes}`);
    if (items.length > 1 && items.some((x) => x.foot.exclusive)) out.push(`${where}: exclusive instance shares the device`);
    if (new Set(items.map((x) => x.inst.serviceId)).size < items.length) out.push(`${where}: two instances of one service`);
    const feet = items.map((x) => x.foot);
    if (!roundRobinFits(feet)) out.push(`${where}: duty cycle does not fit`);
    if (!sharedWaitFits(feet)) out.push(`${where}: co-location price: a latency service's wait (longest batch on the device, then its own) does not fit its budget`);
  }
  return out;
}

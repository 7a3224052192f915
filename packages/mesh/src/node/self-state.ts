import type { InstanceInfo, LocalExecutor, ServiceItems, ServiceSpec, DeviceSpec } from '@epara/core';
import type { SelfState } from '../sync/view-store.js';
import type { ArrivalMeter } from './arrival-meter.js';

/**
 * This server's own view entry, read fresh each ring round: instances from the executor (their waits scaled by
 * the node's measured correction, numbers rounded so an unchanged state keeps its version), device load as mean utilization, free memory from the devices
 * minus the weights of what is hosted, the measured arrival rates, and how each ready service's items may be split.
 */
export function readSelfState(input: {
  executor: LocalExecutor;
  meter: ArrivalMeter;
  now: number;
  devices: readonly DeviceSpec[];
  services: readonly ServiceSpec[];
  address: string | undefined;
  /** What each service's estimated wait is scaled by (the node's measured correction). @default 1 */
  waitScale?: (serviceId: string) => number;
}): SelfState {
  const scale = input.waitScale;
  const instances = input.executor.instances().map((i) => round(scale ? { ...i, waitMs: i.waitMs * scale(i.serviceId) } : i));
  let utilization = 0;
  for (const i of instances) utilization += i.capacityPerSec > 0 ? Math.min(1, i.loadPerSec / i.capacityPerSec) : 0;
  const load = instances.length > 0 ? Math.round((utilization / instances.length) * 100) / 100 : 0;
  let memory = 0;
  for (const d of input.devices) memory += d.memoryBytes;
  for (const i of instances) memory -= input.services.find((s) => s.id === i.serviceId)?.memory.weightsBytes ?? 0;
  const items = readItems(input.executor, instances);
  return { instances, load, freeMemoryBytes: Math.max(0, memory), arrivalRates: input.meter.rates(input.now), address: input.address, ...(items ? { items } : {}) };
}

/**
 * Per service with a ready instance, what the executor found of its items (`unknown` until it checked), for a
 * front end with no instance of its own; `undefined` for an executor that does not say.
 */
function readItems(executor: LocalExecutor, instances: readonly InstanceInfo[]): Record<string, ServiceItems> | undefined {
  if (!executor.itemSeparability) return undefined;
  const items: Record<string, ServiceItems> = {};
  for (const { serviceId, status } of instances) {
    if (status !== 'ready' || Object.hasOwn(items, serviceId)) continue;
    const axes = executor.batchAxes?.(serviceId);
    items[serviceId] = { separability: executor.itemSeparability(serviceId) ?? 'unknown', ...(axes ? { batchAxes: axes } : {}) };
  }
  return items;
}

function round(i: InstanceInfo): InstanceInfo {
  return { ...i, waitMs: Math.round(i.waitMs), loadPerSec: Math.round(i.loadPerSec * 10) / 10, capacityPerSec: Math.round(i.capacityPerSec * 10) / 10 };
}

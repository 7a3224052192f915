import { latencyAt, type InstanceInfo } from '@epara/core';
import type { ModelInstance } from './model-instance.js';

/** The snapshot of an instance a host's view shows (`ready`: its model is loaded and profiled). */
export function instanceInfo(inst: ModelInstance, o: { readonly ready: boolean; readonly sensitivity: 'latency' | 'frequency' }, now: number): InstanceInfo {
  const ready = o.ready;
  const devices = inst.devices;
  return {
    instanceId: inst.id,
    serviceId: inst.serviceId,
    status: inst.status,
    requestStrategy: o.sensitivity === 'frequency' ? 'multi-frame' : 'batching',
    serviceStrategy: devices.length > 1 ? 'data-parallel' : 'single',
    batchSize: ready ? inst.batchSize : 0,
    capacityPerSec: ready ? inst.capacityPerSec : 0,
    loadPerSec: inst.loadPerSec(now),
    waitMs: ready ? Math.max(0, inst.estimate(now) - now - latencyAt(inst.profile, 1)) : 0,
    runMs: ready ? latencyAt(inst.profile, inst.batchSize) : 0,
    deviceIds: devices.map((d) => d.id),
  };
}

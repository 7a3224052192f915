import { latencyAt, type InstanceInfo, type InstanceStatus, type LatencyProfile } from '@epara/core';

/** What the snapshot reads from an instance (`profile`, the sizes and the estimate only once loaded). */
interface InfoSource {
  readonly id: string;
  readonly serviceId: string;
  readonly status: InstanceStatus;
  readonly devices: readonly { readonly id: string }[];
  readonly batchSize: number;
  readonly capacityPerSec: number;
  readonly profile: LatencyProfile;
  loadPerSec(now: number): number;
  estimate(now: number): number;
}

/** The snapshot of an instance a host's view shows (`ready`: its model is loaded and profiled). */
export function instanceInfo(inst: InfoSource, o: { readonly ready: boolean; readonly sensitivity: 'latency' | 'frequency' }, now: number): InstanceInfo {
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

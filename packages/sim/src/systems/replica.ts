import type { SimService } from '../model/services.js';
import type { BatchPolicy, SimInstance } from '../world/types.js';
import type { World } from '../world/world.js';
import type { TritonReplica } from './triton-config.js';

/**
 * Deploys operator replicas of one service on one server as instances: single-device replicas of a
 * (service, server) share one queue over their devices (Triton's `instance_group`, data parallel); a
 * model-parallel group is its own instance. Returns the instances that loaded (device memory permitting).
 */
export function deployReplicas(world: World, group: readonly TritonReplica[], policy: BatchPolicy, warm: boolean): SimInstance[] {
  const out: SimInstance[] = [];
  const singles = group.filter((r) => r.stages === 1);
  const multi = group.filter((r) => r.stages > 1);
  const make = (rs: readonly TritonReplica[]): void => {
    const r = rs[0]!;
    const devices = rs.flatMap((x) => x.devices.map((d) => world.devicesByServer[r.server]![d]!));
    const strategy = r.stages > 1 ? 'model-parallel' : devices.length > 1 ? 'data-parallel' : 'single';
    const inst = world.createInstance(
      {
        service: r.service, server: r.server, devices, policy,
        plan: { requestStrategy: 'batching', serviceStrategy: strategy, batchSize: r.maxBatch, capacityPerSec: rs.reduce((a, x) => a + x.capacityPerSec, 0), memoryPerDeviceBytes: r.memoryPerDeviceBytes, runMs: r.runMs, stages: r.stages },
      },
      warm,
    );
    if (inst !== null) out.push(inst);
  };
  if (singles.length > 0) make(singles);
  for (const m of multi) make([m]);
  return out;
}

/** The SLO judged per item (deadline, or staleness limit for frames sent as requests), ms. */
export function perItemSloMs(svc: SimService): number {
  return svc.spec.slo.kind === 'latency' ? svc.spec.slo.deadlineMs : svc.spec.slo.stalenessMs;
}

/** Groups replicas by `service@server`. */
export function groupReplicas(replicas: readonly TritonReplica[]): TritonReplica[][] {
  const byKey = new Map<string, TritonReplica[]>();
  for (const r of replicas) {
    const key = `${r.service}@${r.server}`;
    byKey.set(key, [...(byKey.get(key) ?? []), r]);
  }
  return [...byKey.values()];
}

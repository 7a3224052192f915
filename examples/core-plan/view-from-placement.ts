import { createView, totalDemandRate, type ClusterView, type InstanceInfo, type PlacedInstance, type ServiceDemand } from '@epara/core';

/**
 * The cluster view the servers would report after applying a placement: each service's demand is split over
 * its instances in proportion to capacity; the reported wait is one run time scaled by the utilization (a
 * half-empty instance has half a batch ahead on average); entries are a few hundred ms old, as between two
 * ring rounds.
 */
export function viewFromPlacement(instances: readonly PlacedInstance[], demand: readonly ServiceDemand[], now: number): ClusterView {
  const demandOf = new Map(demand.map((d) => [d.serviceId, totalDemandRate(d)]));
  const capacityOf = new Map<string, number>();
  for (const inst of instances) capacityOf.set(inst.serviceId, (capacityOf.get(inst.serviceId) ?? 0) + capacity(inst));
  const byServer = new Map<string, InstanceInfo[]>();
  for (const inst of instances) {
    const share = (demandOf.get(inst.serviceId) ?? 0) * (capacity(inst) / (capacityOf.get(inst.serviceId) ?? 1));
    const rho = Math.min(1, share / capacity(inst));
    const info: InstanceInfo = {
      instanceId: inst.instanceId,
      serviceId: inst.serviceId,
      status: 'ready',
      requestStrategy: inst.plan.requestStrategy,
      serviceStrategy: inst.plan.serviceStrategy,
      batchSize: inst.plan.batchSize,
      capacityPerSec: capacity(inst),
      loadPerSec: share,
      waitMs: inst.plan.runMs * rho,
      runMs: inst.plan.runMs,
    };
    byServer.set(inst.serverId, [...(byServer.get(inst.serverId) ?? []), info]);
  }
  const ids = [...byServer.keys()].sort();
  return createView(
    ids.map((serverId, i) => {
      const list = byServer.get(serverId)!;
      const load = list.reduce((s, x) => s + Math.min(1, x.loadPerSec / x.capacityPerSec), 0) / list.length;
      return { serverId, epoch: 1, version: 7, updatedAt: now - 100 * (i + 1), alive: true, instances: list, load, freeMemoryBytes: 0, arrivalRates: {} };
    }),
  );
}

function capacity(inst: PlacedInstance): number {
  return inst.capacityPerSec ?? inst.plan.capacityPerSec;
}

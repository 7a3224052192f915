import { allocate, deviceKindsOf } from '@epara/core';
import type { ClusterView, DeviceSpec, ParallelPlan, PlacedInstance, PlacementInput, ServerId, ServerSpec, ServiceDemand, ServiceSpec } from '@epara/core';

/** What the leader knows when it builds a placement input. */
export interface PlacementKnowledge {
  readonly view: ClusterView;
  readonly services: readonly ServiceSpec[];
  readonly devices: ReadonlyMap<ServerId, readonly DeviceSpec[]>;
  /** The last placement distributed (any leader), or empty. */
  readonly previous: readonly PlacedInstance[];
  /** Demand floor per service so an idle service keeps an instance, items/s. */
  readonly minDemandPerSec: number;
  readonly leader: ServerId;
}

/**
 * Builds `placeServices` input from the synchronized view: alive servers that reported devices, demand from
 * the arrival rates every server reports (plus a floor), plans from `allocate`, and the current placement —
 * the last decision's instances still alive, plus instances a host loaded on its own (adopted so the leader
 * neither double-places nor ignores them), each with its backlog.
 */
export function buildPlacementInput(k: PlacementKnowledge): PlacementInput {
  const alive = Object.values(k.view.entries).filter((e) => e.alive && k.devices.has(e.serverId));
  const servers: ServerSpec[] = alive.map((e) => ({ id: e.serverId, devices: k.devices.get(e.serverId)! }));
  const demand = k.services.map((s) => serviceDemand(s, k));
  const kinds = deviceKindsOf(servers);
  const plans: Record<string, readonly ParallelPlan[]> = {};
  for (const [i, s] of k.services.entries()) {
    plans[s.id] = kinds.length === 0 ? [] : allocate({ service: s, demand: demand[i]!, deviceKinds: kinds }).plans;
  }
  return { servers, services: k.services, plans, demand, current: currentPlacement(k, servers, plans) };
}

function serviceDemand(s: ServiceSpec, k: PlacementKnowledge): ServiceDemand {
  const ratePerServer: Record<ServerId, number> = {};
  let total = 0;
  for (const e of Object.values(k.view.entries)) {
    const r = e.alive ? e.arrivalRates[s.id] ?? 0 : 0;
    if (r > 0) {
      ratePerServer[e.serverId] = r;
      total += r;
    }
  }
  if (total < k.minDemandPerSec) ratePerServer[k.leader] = (ratePerServer[k.leader] ?? 0) + k.minDemandPerSec - total;
  return { serviceId: s.id, ratePerServer };
}

function currentPlacement(k: PlacementKnowledge, servers: readonly ServerSpec[], plans: Readonly<Record<string, readonly ParallelPlan[]>>): PlacedInstance[] {
  const out: PlacedInstance[] = [];
  const used = new Map<ServerId, Set<string>>();
  const known = new Set(k.services.map((s) => s.id));
  for (const server of servers) {
    const entry = k.view.entries[server.id]!;
    const taken = used.get(server.id) ?? new Set<string>();
    used.set(server.id, taken);
    for (const inst of entry.instances) {
      if (inst.status === 'draining' || !known.has(inst.serviceId)) continue;
      const backlogItems = inst.runMs > 0 ? Math.round((inst.waitMs / inst.runMs) * inst.batchSize) : 0;
      const prev = k.previous.find((p) => p.instanceId === inst.instanceId && p.serverId === server.id);
      if (prev) {
        prev.deviceIds.forEach((d) => taken.add(d));
        out.push({ ...prev, backlogItems });
        continue;
      }
      const adopted = adopt(inst.serviceId, inst.instanceId, inst.batchSize, server, taken, plans);
      if (adopted) out.push({ ...adopted, backlogItems });
    }
  }
  return out;
}

function adopt(serviceId: string, instanceId: string, batchSize: number, server: ServerSpec, taken: Set<string>, plans: Readonly<Record<string, readonly ParallelPlan[]>>): PlacedInstance | undefined {
  const candidates = (plans[serviceId] ?? []).filter((p) => server.devices.some((d) => d.kind === p.deviceKind));
  const plan = candidates.find((p) => p.batchSize === batchSize && p.devices === 1) ?? candidates.find((p) => p.devices === 1);
  if (!plan) return undefined;
  const device = server.devices.find((d) => d.kind === plan.deviceKind && !taken.has(d.id) && d.healthy !== false);
  if (!device) return undefined;
  taken.add(device.id);
  return { instanceId, serviceId, plan, serverId: server.id, deviceIds: [device.id] };
}

import { allocate, DEFAULT_PLACEMENT_OPTIONS, deviceKindsOf } from '@epara/core';
import { plansAtMeasuredSpeed, servicesAtMeasuredSpeed, type CostRatios } from '@epara/core/scheduling';
import type { ClusterView, DeviceSpec, InstanceInfo, ParallelPlan, PlacedInstance, PlacementInput, ServerId, ServerSpec, ServiceDemand, ServiceSpec } from '@epara/core';
import { adoptInstance, claimDevices, createDeviceClaims } from './adopt-instances.js';
import { forecastRates } from './demand-forecast.js';
import type { HostedDevices } from './placement-payload.js';

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
  /** The host's forecast for the next period (validated). @default none */
  readonly forecast?: readonly ServiceDemand[];
  /** Per server, the devices its executor reports for its instances. @default none */
  readonly hosted?: ReadonlyMap<ServerId, readonly HostedDevices[]>;
  /**
   * Capacity is planned for the demand × this factor (≥ 1); placement is told it (`demandHeadroom`), so the margin
   * can be valued apart from the forecast. @default 1 (the forecast alone)
   */
  readonly demandHeadroom?: number;
  /** Placement's shared-device slowdown (its `colocationSlowdown` option). @default core's default */
  readonly colocationSlowdown?: number;
  /**
   * Each service's measured cost ÷ profile: its profiles are scaled by it, and `previous` (plans at the profiles'
   * speed, as distributed) is priced at it. @default none
   */
  readonly costRatio?: CostRatios;
}

/**
 * Builds `placeServices` input from the synchronized view: alive servers that reported devices, demand per
 * service and access server as the larger of the reported arrival rate and the host's forecast (plus a
 * floor), times the planning margin `demandHeadroom` when one is given, plans from `allocate`, and the current placement — the last decision's instances still alive, plus
 * every instance a host loaded on its own (adopted on its real devices where its executor reports them, so
 * the leader neither double-places nor ignores it), each with its backlog.
 */
export function buildPlacementInput(knowledge: PlacementKnowledge): PlacementInput {
  const r = knowledge.costRatio;
  const k = r === undefined ? knowledge : { ...knowledge, services: servicesAtMeasuredSpeed(knowledge.services, r), previous: plansAtMeasuredSpeed(knowledge.previous, r) };
  const alive = Object.values(k.view.entries).filter((e) => e.alive && k.devices.has(e.serverId));
  const servers: ServerSpec[] = alive.map((e) => ({ id: e.serverId, devices: k.devices.get(e.serverId)! }));
  const demand = k.services.map((s) => serviceDemand(s, k));
  const kinds = deviceKindsOf(servers);
  const plans: Record<string, readonly ParallelPlan[]> = {};
  for (const [i, s] of k.services.entries()) {
    plans[s.id] = kinds.length === 0 ? [] : allocate({ service: s, demand: demand[i]!, deviceKinds: kinds }).plans;
  }
  const headroom = k.demandHeadroom ?? 1;
  return { servers, services: k.services, plans, demand, ...(headroom > 1 ? { demandHeadroom: headroom } : {}), current: currentPlacement(k, servers, plans) };
}

function serviceDemand(s: ServiceSpec, k: PlacementKnowledge): ServiceDemand {
  const ratePerServer: Record<ServerId, number> = forecastRates(k.forecast ?? [], s.id);
  for (const e of Object.values(k.view.entries)) {
    const r = e.alive ? e.arrivalRates[s.id] ?? 0 : 0;
    // The forecast and the measured rate describe the same arrivals: take the larger, never the sum.
    if (r > (ratePerServer[e.serverId] ?? 0)) ratePerServer[e.serverId] = r;
  }
  for (const [a, r] of Object.entries(ratePerServer)) if (!(r > 0)) delete ratePerServer[a];
  const total = Object.values(ratePerServer).reduce((x, y) => x + y, 0);
  if (total < k.minDemandPerSec) ratePerServer[k.leader] = (ratePerServer[k.leader] ?? 0) + k.minDemandPerSec - total;
  // The margin multiplies every rate, the floor's too: placement reads each rate as forecast × headroom.
  const headroom = k.demandHeadroom ?? 1;
  if (headroom > 1) for (const a of Object.keys(ratePerServer)) ratePerServer[a] = ratePerServer[a]! * headroom;
  return { serviceId: s.id, ratePerServer };
}

function currentPlacement(k: PlacementKnowledge, servers: readonly ServerSpec[], plans: Readonly<Record<string, readonly ParallelPlan[]>>): PlacedInstance[] {
  const out: PlacedInstance[] = [];
  const known = new Set(k.services.map((s) => s.id));
  for (const server of servers) {
    const claims = createDeviceClaims();
    const reported = new Map((k.hosted?.get(server.id) ?? []).map((h) => [h.instanceId, h.deviceIds]));
    const live = k.view.entries[server.id]!.instances.filter((i) => i.status !== 'draining' && known.has(i.serviceId));
    const backlog = (i: InstanceInfo): number => (i.runMs > 0 ? Math.round((i.waitMs / i.runMs) * i.batchSize) : 0);
    const unplaced: InstanceInfo[] = [];
    for (const inst of live) {
      const prev = k.previous.find((p) => p.instanceId === inst.instanceId && p.serverId === server.id);
      if (prev) {
        claimDevices(claims, prev);
        out.push({ ...prev, backlogItems: backlog(inst) });
      } else unplaced.push(inst);
    }
    // Instances with reported devices first, so inference never lands on a device a known instance holds.
    const order = [...unplaced.filter((i) => reported.has(i.instanceId)), ...unplaced.filter((i) => !reported.has(i.instanceId))];
    const adopted: PlacedInstance[] = [];
    for (const inst of order) {
      const a = adoptInstance(inst, server, reported.get(inst.instanceId), { plans: plans[inst.serviceId] ?? [], claims });
      if (!a) continue;
      claimDevices(claims, a);
      adopted.push({ ...a, backlogItems: backlog(inst) });
    }
    const slowdown = new Map(k.services.map((s) => [s.id, s.colocationSlowdown ?? k.colocationSlowdown ?? DEFAULT_PLACEMENT_OPTIONS.colocationSlowdown]));
    out.push(...fitSharedDevices(adopted, out, (id) => slowdown.get(id) ?? 0));
  }
  return out;
}

/**
 * Adopted instances sharing a device run in one round-robin cycle `C = Σ runMs × (1 + slowdown)` (runs are
 * slower on a shared device), so each serves at most `batch / C`: their claims are capped there (what the
 * duty-cycle constraint of placement allows).
 */
function fitSharedDevices(adopted: readonly PlacedInstance[], others: readonly PlacedInstance[], slowdown: (serviceId: string) => number): PlacedInstance[] {
  const cycle = new Map<string, number>();
  const count = new Map<string, number>();
  for (const p of [...others, ...adopted]) {
    if (p.deviceIds.length !== 1) continue;
    const d = p.deviceIds[0]!;
    cycle.set(d, (cycle.get(d) ?? 0) + p.plan.runMs * (1 + slowdown(p.serviceId)));
    count.set(d, (count.get(d) ?? 0) + 1);
  }
  return adopted.map((p) => {
    const c = p.deviceIds.length === 1 ? cycle.get(p.deviceIds[0]!) ?? 0 : 0;
    if ((count.get(p.deviceIds[0]!) ?? 0) < 2 || c <= 0) return p;
    const cap = (1000 * p.plan.batchSize) / c;
    return cap < (p.capacityPerSec ?? p.plan.capacityPerSec) ? { ...p, capacityPerSec: cap } : p;
  });
}
